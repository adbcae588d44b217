"""Meanings of the coded fields of the CMS HCPCS Level II file, as the record layout defines them.

Copied from `HCPC2026_recordlayout.txt` (CMS RIF report, 11/12/2025): the CODES lists of the
fields and the BETOS_TB and CMS_TYPE_SRVC_TB appendix tables. Only meanings that the layout
states are here; spelling slips of the layout are corrected ("e.G." -> "e.g.",
"cardiovascualr" -> "cardiovascular", "opthamology" -> "ophthalmology"), nothing is added.
A code the file uses but the layout does not define gets no label rather than a guess.
"""

from __future__ import annotations

# Field 9, positions 120-127 (up to four 2-character codes).
PRICING_INDICATOR: dict[str, str] = {
    "00": "Service not separately priced by Part B (e.g., services not covered, bundled, "
    "used by Part A only, etc.)",
    "11": "Price established using national RVUs",
    "12": "Price established using national anesthesia base units",
    "13": "Price established by carriers (e.g., not otherwise classified, individual "
    "determination, carrier discretion)",
    "21": "Price subject to national limitation amount",
    "22": "Price established by carriers (e.g., gap-fills, carrier established panels)",
    "31": "Frequently serviced DME (price subject to floors and ceilings)",
    "32": "Inexpensive & routinely purchased DME (price subject to floors and ceilings)",
    "33": "Oxygen and oxygen equipment (price subject to floors and ceilings)",
    "34": "DME supplies (price subject to floors and ceilings)",
    "35": "Surgical dressings (price subject to floors and ceilings)",
    "36": "Capped rental DME (price subject to floors and ceilings)",
    "37": "Ostomy, tracheostomy and urological supplies (price subject to floors and ceilings)",
    "38": "Orthotics, prosthetics, prosthetic devices & vision services (price subject to "
    "floors and ceilings)",
    "39": "Parenteral and Enteral Nutrition",
    "40": "Lymphedema Compression Treatment Items (eff 1/1/2024)",
    "45": "Customized DME items",
    "46": "Carrier priced (e.g., not otherwise classified, individual determination, carrier "
    "discretion, gap-filled amounts)",
    "51": "Drugs",
    "52": "Reasonable charge",
    "53": "Statute",
    "54": "Vaccinations",
    "55": "Splints and Casts (eff 10/1/2014)",
    "56": "IOL's inserted in a physician's office (eff 10/1/2014)",
    "57": "Other carrier priced",
    "99": "Value not established",
}

# The layout groups the pricing indicators under these headings (by the first digit).
PRICING_INDICATOR_GROUP: dict[str, str] = {
    "1": "Physician Fee Schedule and non-physician practitioners linked to the Physician Fee "
    "Schedule",
    "2": "Clinical Lab Fee Schedule",
    "3": "Durable Medical Equipment, Prosthetics, Orthotics, Supplies and Surgical Dressings",
    "4": "Durable Medical Equipment, Prosthetics, Orthotics, Supplies and Surgical Dressings",
    "5": "Other",
}

# Field 10, position 128.
MULTIPLE_PRICING_INDICATOR: dict[str, str] = {
    "9": "Not applicable as HCPCS not priced separately by Part B (pricing indicator is 00) or "
    "value is not established (pricing indicator is 99)",
    "A": "Not applicable as HCPCS priced under one methodology",
    "B": "Professional component of HCPCS priced using RVUs, while technical component and "
    "global service priced by Medicare Part B carriers",
    "C": "Physician interpretation of clinical lab service is priced under physician fee "
    "schedule using RVUs, while pricing of lab service is paid under clinical lab fee schedule",
    "D": "Service performed by physician is priced under physician fee schedule using RVUs, "
    "while service performed by clinical psychologist is priced under clinical psychologist "
    "fee schedule (not applicable as of January 1, 1998)",
    "E": "Service performed by physician is priced under physician fee schedule using RVUs, "
    "service performed by clinical psychologist is priced under clinical psychologist's fee "
    "schedule and service performed by clinical social worker is priced under clinical social "
    "worker fee schedule (not applicable as of January 1, 1998)",
    "F": "Service performed by physician is priced under physician fee schedule by carriers, "
    "service performed by clinical psychologist is priced under clinical psychologist's fee "
    "schedule and service performed by clinical social worker is priced under clinical social "
    "worker fee schedule (not applicable as of January 1, 1998)",
    "G": "Clinical lab service priced under reasonable charge when service is submitted on "
    "claim with blood products, while service is priced under clinical lab fee schedule when "
    "there are no blood products on claim",
}

# Field 14, positions 181-204 (up to eight 3-character codes).
LAB_CERTIFICATION: dict[str, str] = {
    "010": "Histocompatibility testing",
    "100": "Microbiology",
    "110": "Bacteriology",
    "115": "Mycobacteriology",
    "120": "Mycology",
    "130": "Parasitology",
    "140": "Virology",
    "150": "Other microbiology",
    "200": "Diagnostic immunology",
    "210": "Syphilis serology",
    "220": "General immunology",
    "300": "Chemistry",
    "310": "Routine chemistry",
    "320": "Urinalysis",
    "330": "Endocrinology",
    "340": "Toxicology",
    "350": "Other chemistry",
    "400": "Hematology",
    "500": "Immunohematology",
    "510": "ABO group & Rh type",
    "520": "Antibody detection (transfusion)",
    "530": "Antibody detection (nontransfusion)",
    "540": "Antibody identification",
    "550": "Compatibility testing",
    "560": "Other immunohematology",
    "600": "Pathology",
    "610": "Histopathology",
    "620": "Oral pathology",
    "630": "Cytology",
    "800": "Radiobioassay",
    "900": "Clinical cytogenetics",
}

# Field 16, position 230.
COVERAGE: dict[str, str] = {
    "C": "Carrier judgment",
    "D": "Special coverage instructions apply",
    "I": "Not payable by Medicare",
    "M": "Non-covered by Medicare",
    "S": "Non-covered by Medicare statute",
}

# Field 17, positions 231-232.
ASC_PAYMENT_GROUP: dict[str, str] = {
    "YY": "Approved to be performed in an ambulatory surgical center",
}

# Field 20, position 244.
MOG_PAYMENT_POLICY: dict[str, str] = {
    "1": "ASC covered procedure",
    "2": "Bundled service/no separate payment",
    "3": "Excluded from ASC list",
    "4": "Invalid code/90 day grace period",
    "6": "Separate payment when furnished in an ASC",
    "7": "ASC restricted coverage procedure",
    "9": "ASC payment not applicable",
}

# Field 30, position 293.
ACTION: dict[str, str] = {
    "A": "Add procedure or modifier code",
    "B": "Change in both administrative data field and long description of procedure or "
    "modifier code",
    "C": "Change in long description of procedure or modifier code",
    "D": "Discontinue procedure or modifier code",
    "F": "Change in administrative data field of procedure or modifier code",
    "N": "No maintenance for this code",
    "P": "Payment change (MOG, pricing indicator codes, anesthesia base units, Ambulatory "
    "Surgical Centers)",
    "R": "Re-activate discontinued/deleted procedure or modifier code",
    "S": "Change in short description of procedure code",
    "T": "Miscellaneous change (BETOS, type of service)",
}

# Appendix BETOS_TB (field 23, positions 257-259).
BETOS: dict[str, str] = {
    "D1A": "Medical/surgical supplies",
    "D1B": "Hospital beds",
    "D1C": "Oxygen and supplies",
    "D1D": "Wheelchairs",
    "D1E": "Other DME",
    "D1F": "Prosthetic/Orthotic devices",
    "D1G": "Drugs Administered through DME",
    "I1A": "Standard imaging - chest",
    "I1B": "Standard imaging - musculoskeletal",
    "I1C": "Standard imaging - breast",
    "I1D": "Standard imaging - contrast gastrointestinal",
    "I1E": "Standard imaging - nuclear medicine",
    "I1F": "Standard imaging - other",
    "I2A": "Advanced imaging - CAT/CT/CTA: brain/head/neck",
    "I2B": "Advanced imaging - CAT/CT/CTA: other",
    "I2C": "Advanced imaging - MRI/MRA: brain/head/neck",
    "I2D": "Advanced imaging - MRI/MRA: other",
    "I3A": "Echography/ultrasonography - eye",
    "I3B": "Echography/ultrasonography - abdomen/pelvis",
    "I3C": "Echography/ultrasonography - heart",
    "I3D": "Echography/ultrasonography - carotid arteries",
    "I3E": "Echography/ultrasonography - prostate, transrectal",
    "I3F": "Echography/ultrasonography - other",
    "I4A": "Imaging/procedure - heart including cardiac catheterization",
    "I4B": "Imaging/procedure - other",
    "M1A": "Office visits - new",
    "M1B": "Office visits - established",
    "M2A": "Hospital visit - initial",
    "M2B": "Hospital visit - subsequent",
    "M2C": "Hospital visit - critical care",
    "M3": "Emergency room visit",
    "M4A": "Home visit",
    "M4B": "Nursing home visit",
    "M5A": "Specialist - pathology",
    "M5B": "Specialist - psychiatry",
    "M5C": "Specialist - ophthalmology",
    "M5D": "Specialist - other",
    "M6": "Consultations",
    "O1A": "Ambulance",
    "O1B": "Chiropractic",
    "O1C": "Enteral and parenteral",
    "O1D": "Chemotherapy",
    "O1E": "Other drugs",
    "O1F": "Hearing and speech services",
    "O1G": "Immunizations/Vaccinations",
    "O1L": "Lymphedema Compression Treatment Items (eff 1/1/2024)",
    "P0": "Anesthesia",
    "P1A": "Major procedure - breast",
    "P1B": "Major procedure - colectomy",
    "P1C": "Major procedure - cholecystectomy",
    "P1D": "Major procedure - TURP",
    "P1E": "Major procedure - hysterectomy",
    "P1F": "Major procedure - explor/decompr/excisdisc",
    "P1G": "Major procedure - other",
    "P2A": "Major procedure, cardiovascular - CABG",
    "P2B": "Major procedure, cardiovascular - Aneurysm repair",
    "P2C": "Major procedure, cardiovascular - Thromboendarterectomy",
    "P2D": "Major procedure, cardiovascular - Coronary angioplasty (PTCA)",
    "P2E": "Major procedure, cardiovascular - Pacemaker insertion",
    "P2F": "Major procedure, cardiovascular - Other",
    "P3A": "Major procedure, orthopedic - Hip fracture repair",
    "P3B": "Major procedure, orthopedic - Hip replacement",
    "P3C": "Major procedure, orthopedic - Knee replacement",
    "P3D": "Major procedure, orthopedic - other",
    "P4A": "Eye procedure - corneal transplant",
    "P4B": "Eye procedure - cataract removal/lens insertion",
    "P4C": "Eye procedure - retinal detachment",
    "P4D": "Eye procedure - treatment of retinal lesions",
    "P4E": "Eye procedure - other",
    "P5A": "Ambulatory procedures - skin",
    "P5B": "Ambulatory procedures - musculoskeletal",
    "P5C": "Ambulatory procedures - inguinal hernia repair",
    "P5D": "Ambulatory procedures - lithotripsy",
    "P5E": "Ambulatory procedures - other",
    "P6A": "Minor procedures - skin",
    "P6B": "Minor procedures - musculoskeletal",
    "P6C": "Minor procedures - other (Medicare fee schedule)",
    "P6D": "Minor procedures - other (Non-Medicare fee schedule)",
    "P7A": "Oncology - radiation therapy",
    "P7B": "Oncology - other",
    "P8A": "Endoscopy - arthroscopy",
    "P8B": "Endoscopy - upper gastrointestinal",
    "P8C": "Endoscopy - sigmoidoscopy",
    "P8D": "Endoscopy - colonoscopy",
    "P8E": "Endoscopy - cystoscopy",
    "P8F": "Endoscopy - bronchoscopy",
    "P8G": "Endoscopy - laparoscopic cholecystectomy",
    "P8H": "Endoscopy - laryngoscopy",
    "P8I": "Endoscopy - other",
    "P9A": "Dialysis services (Medicare fee schedule)",
    "P9B": "Dialysis services (Non-Medicare fee schedule)",
    "T1A": "Lab tests - routine venipuncture (Non-Medicare fee schedule)",
    "T1B": "Lab tests - automated general profiles",
    "T1C": "Lab tests - urinalysis",
    "T1D": "Lab tests - blood counts",
    "T1E": "Lab tests - glucose",
    "T1F": "Lab tests - bacterial cultures",
    "T1G": "Lab tests - other (Medicare fee schedule)",
    "T1H": "Lab tests - other (Non-Medicare fee schedule)",
    "T2A": "Other tests - electrocardiograms",
    "T2B": "Other tests - cardiovascular stress tests",
    "T2C": "Other tests - EKG monitoring",
    "T2D": "Other tests - other",
    "Y1": "Other - Medicare fee schedule",
    "Y2": "Other - Non-Medicare fee schedule",
    "Z1": "Local codes",
    "Z2": "Undefined codes",
}

# Appendix CMS_TYPE_SRVC_TB (field 25, positions 261-265, up to five 1-character codes).
TYPE_OF_SERVICE: dict[str, str] = {
    "1": "Medical care",
    "2": "Surgery",
    "3": "Consultation",
    "4": "Diagnostic radiology",
    "5": "Diagnostic laboratory",
    "6": "Therapeutic radiology",
    "7": "Anesthesia",
    "8": "Assistant at surgery",
    "9": "Other medical items or services",
    "0": "Whole blood only eff 01/96, whole blood or packed red cells before 01/96",
    "A": "Used durable medical equipment (DME)",
    "B": "High risk screening mammography (obsolete 1/1/98)",
    "C": "Low risk screening mammography (obsolete 1/1/98)",
    "D": "Ambulance (eff 04/95)",
    "E": "Enteral/parenteral nutrients/supplies (eff 04/95)",
    "F": "Ambulatory surgical center (facility usage for surgical services)",
    "G": "Immunosuppressive drugs",
    "H": "Hospice services (discontinued 01/95)",
    "I": "Purchase of DME (installment basis) (discontinued 04/95)",
    "J": "Diabetic shoes (eff 04/95)",
    "K": "Hearing items and services (eff 04/95)",
    "L": "ESRD supplies (eff 04/95) (renal supplier in the home before 04/95)",
    "M": "Monthly capitation payment for dialysis",
    "N": "Kidney donor",
    "P": "Lump sum purchase of DME, prosthetics, orthotics",
    "Q": "Vision items or services",
    "R": "Rental of DME",
    "S": "Surgical dressings or other medical supplies (eff 04/95)",
    "T": "Psychological therapy (term. 12/31/97), outpatient mental health limitation "
    "(eff. 1/1/98)",
    "U": "Occupational therapy",
    "V": "Pneumococcal/flu vaccine (eff 01/96), Pneumococcal/flu/hepatitis B vaccine "
    "(eff 04/95-12/95), Pneumococcal only before 04/95",
    "W": "Physical therapy",
    "Y": "Second opinion on elective surgery (obsoleted 1/97)",
    "Z": "Third opinion on elective surgery (obsoleted 1/97)",
}

# Field 6, position 11: what kind of record a line is.
RECORD_IDENTIFICATION: dict[str, str] = {
    "3": "First line of procedure record",
    "4": "Continuation of a procedure's long description",
    "7": "First line of modifier record",
    "8": "Continuation of a modifier's long description",
}
