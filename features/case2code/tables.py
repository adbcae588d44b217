"""The catalog: releases, codes of every system, browse groups, history and keyed records.

Codes of every system share one table (`catalog_code`) because pages, search and the assistant
treat them alike; what differs by system lives in `details` (JSON). Everything else a page shows
(fees, edits, crosswalks, index terms, DRG designations) is a `catalog_record` of some `kind`,
keyed by the code it belongs to; `features/case2code/catalog.py` documents each kind's shape.
"""

from piccolo.columns import JSON, Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Release(Table, tablename="catalog_release"):
    code_set = Varchar(length=40, index=True)  # "icd-10-cm", "hcpcs", "mpfs", ...
    name = Varchar(length=200)  # shown with every figure: "ICD-10-CM FY2026, April 1 2026 update"
    version = Varchar(length=40)
    effective_date = Date(null=True, default=None)
    source = Text()  # where the file came from (URL or package path)
    checksum = Varchar(length=64)  # SHA-256 of the source file(s)
    sample = Boolean(default=False)  # sample data: labelled "sample" wherever it shows
    status = Varchar(length=20, default="current")  # current | superseded
    row_count = Integer(default=0)
    imported_at = Timestamptz(default=TimestamptzNow())


class Code(Table, tablename="catalog_code"):
    system = Varchar(length=16)  # icd-10-cm, icd-10-pcs, hcpcs, cpt, icd-9-cm, icd-9-pcs
    code = Varchar(length=12)  # normalised: upper case, no dot
    display = Varchar(length=14)  # as printed: "S93.402A"
    title = Text()
    short_title = Varchar(length=255, null=True, default=None)
    kind = Varchar(length=16)  # category | subcategory | code | modifier
    billable = Boolean(default=False)
    parent = Varchar(length=12, null=True, default=None)  # normalised code of the parent
    group_key = Varchar(length=24, null=True, default=None)  # block / table / range for browse
    sort = Integer(default=0)
    release = Integer()
    details = JSON(default="{}")


class CodeGroup(Table, tablename="catalog_group"):
    system = Varchar(length=16)
    kind = Varchar(length=16)  # chapter | block | section | table | range
    key = Varchar(length=24)
    title = Text()
    parent_key = Varchar(length=24, null=True, default=None)
    sort = Integer(default=0)
    release = Integer()
    details = JSON(default="{}")


class CodeChange(Table, tablename="catalog_code_change"):
    """What a release changed for a code, against the release before it."""

    system = Varchar(length=16)
    code = Varchar(length=12)
    release = Integer()
    change = Varchar(length=10)  # added | revised | deleted
    old_title = Text(null=True, default=None)
    new_title = Text(null=True, default=None)


class Record(Table, tablename="catalog_record"):
    kind = Varchar(length=24)  # fee, gpci, ncci, mue, gem, drg-cc, ms-drg, index-term, pos, ...
    key = Varchar(length=40)
    key2 = Varchar(length=40, null=True, default=None)
    release = Integer()
    data = JSON(default="{}")
