"""Consult analysis: the draft put together, one step at a time (see analysis.py for the order).

The Builder holds what the steps find: the findings with their proposed codes, and the lines of
each section of the draft. Every proposed code is read back from the catalog (`_view`), so its
title, billable flag and release are the catalog's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from features.case2code import catalog
from features.case2code.case_text import CaseText, NoteError, Problem, Status
from features.case2code.case_to_code import Candidate, CodedProblem, case_to_code
from features.case2code.catalog import CodeView
from features.casepilot.code_check import Mention
from features.casepilot.facts import Citation
from features.casepilot.tools_common import LABELS
from features.consultant import analysis_edits, analysis_fit, analysis_words
from features.consultant.analysis_actions import (
    Action,
    action_of,
    diagnosis_note,
    in_question,
    merged,
    narrative,
)
from features.consultant.analysis_procedures import (
    approach_gap,
    device_gap,
    look_up,
    missing_cpt,
    side_gap,
)
from features.consultant.analysis_sequence import sequence
from features.consultant.analysis_text import Kind, PreparedCase
from features.consultant.analysis_types import Draft, Finding, ProposedCode

CM = "icd-10-cm"
CHOICES = 4  # per problem: the proposed code and the alternatives shown
PROCEDURE_SYSTEMS = ("cpt", "hcpcs")
_SUPPLY_LETTERS = tuple("ABEKLV")
_CONNECTORS = frozenset({"with", "w/", "and", "or", "of", "the"})


@dataclass
class Item:
    """A finding while the draft is built."""

    text: str
    kind: Kind
    excerpt: str
    codes: list[ProposedCode]
    alternatives: list[ProposedCode] = field(default_factory=list)
    notice: str = ""
    at: int = 0  # where the case says it: findings are listed in the case's order
    rank: tuple[int, str] = (9, "")  # first-listed priority (lower first) and the reason


class Builder:
    def __init__(self, prepared: PreparedCase, case: CaseText) -> None:
        self.prepared, self.case = prepared, case
        self.items: list[Item] = []
        self.order: list[ProposedCode] = []
        self.gaps: list[str] = []
        self.not_coded: list[str] = []
        self.sequencing: list[str] = []
        self.conflicts: list[str] = []
        self.citations: list[Citation] = []
        self.releases: list[str] = []
        self.unresolved = 0  # confirmed problems with no code
        self.edit_pairs = 0
        self.actions: list[Action] = []
        self.views: dict[tuple[str, str], CodeView | None] = {}

    # --- reading the catalog ------------------------------------------------------------------

    async def _view(self, system: str, code: str) -> CodeView | None:
        key = (system, code)
        if key not in self.views:
            view = await catalog.get_code(system, code)
            if view is None and system == "cpt":
                view = await catalog.cpt_without_licence(code)
            self.views[key] = view
        return self.views[key]

    def proposed(
        self, view: CodeView, kind: Kind, support: tuple[str, ...], note: str = ""
    ) -> ProposedCode:
        if view.system == "cpt" and view.release.sample:
            note = "; ".join(filter(None, [note, analysis_words.CPT_SAMPLE]))
        if view.details.get("unlicensed"):
            note = "; ".join(filter(None, [note, analysis_words.CPT_UNLICENSED]))
        return ProposedCode(
            view.system,
            view.code,
            view.display,
            view.title,
            view.billable,
            kind,
            support,
            note,
            view.url,
        )

    # --- procedures and supplies ------------------------------------------------------------

    async def code_actions(self) -> None:
        # A question ("can we bill a venipuncture with the panel?") names procedures whatever
        # the status its question mark gives them.
        read = [
            p
            for p in self.case.problems
            if p.status is Status.CONFIRMED or in_question(p, self.prepared)
        ]
        self.actions = [a for p in read if (a := action_of(p, self.prepared)) is not None]
        for action in merged(self.actions):
            if action.skipped:
                self.not_coded.append(analysis_words.skipped_action(action))
            elif action.words:
                await self._code_action(action)

    async def _code_action(self, action: Action) -> None:
        found = await look_up(action)
        support = tuple(w.text for w in action.words if w.key not in _CONNECTORS)
        codes: list[ProposedCode] = []
        alternatives: list[ProposedCode] = []
        for item in found:
            views = [await self._view(h.system, h.code) for h in item.hits]
            proposals = [self.proposed(v, action.kind, support) for v in views if v]
            codes += proposals[:1]
            alternatives += proposals[1:]
        if not codes:
            if not narrative(action):
                self.unresolved += 1
                self.not_coded.append(analysis_words.no_code(support, action.kind))
            return
        checks = (side_gap, approach_gap, device_gap)
        self.gaps += [g for check in checks if (g := check(action, found))]
        cpt = await catalog.current_release("cpt")
        missing = missing_cpt(action, found, sample=cpt is None or cpt.sample)
        if missing:
            self.not_coded.append(missing)
        self.items.append(
            Item(
                " ".join(support),
                action.kind,
                self._sentence(action.problem),
                codes,
                alternatives,
                at=action.problem.words[0].start,
            )
        )

    # --- diagnoses ----------------------------------------------------------------------------

    async def code_diagnoses(self) -> None:
        if self.prepared.left_out:
            self.gaps.append(analysis_words.cut(self.prepared.left_out))
        note = diagnosis_note(self.prepared, self.actions, self.case.problems)
        try:
            result = await case_to_code(note)
        except NoteError:  # nothing but procedures: no diagnosis text is left
            return
        self.releases += result.releases
        for coded in result.coded:
            await self._code_problem(coded)
        for skipped in (*result.not_coded, *result.history):
            self.not_coded.append(analysis_words.not_coded(skipped))
        if result.left_out:
            self.gaps.append(analysis_words.too_many(result.left_out))

    async def _code_problem(self, coded: CodedProblem) -> None:
        problem = coded.problem
        ranked = analysis_fit.ranked(await analysis_fit.widened(coded), problem)[:CHOICES]
        chosen = [await self._candidate(c, problem) for c in ranked]
        proposals = [p for p in chosen if p is not None]
        if not proposals:
            self.unresolved += 1
            self.not_coded.append(analysis_words.no_fit(problem.text, coded.candidates))
            return
        best = ranked[next(i for i, p in enumerate(chosen) if p is not None)]
        also = [p for c in coded.also if (p := await self._candidate(c, problem)) is not None]
        first = proposals[0]
        if coded.notice:
            first = replace(first, note=analysis_words.join(first.note, "closest match"))
            self.gaps.append(analysis_words.closest(problem.text, first))
        extra = analysis_fit.unsaid(best)
        if extra:
            first = replace(first, note=analysis_words.join(first.note, "says more than the case"))
            self.gaps.append(analysis_words.says_more(problem.text, first, extra))
        self.gaps += analysis_words.candidate_gaps(problem, best, first)
        self.items.append(
            Item(
                problem.text,
                "diagnosis",
                self._sentence(problem),
                [first, *also],
                proposals[1:],
                notice=coded.notice or "",
                at=problem.words[0].start,
                rank=await self._rank(problem, first),
            )
        )

    async def _candidate(self, candidate: Candidate, problem: Problem) -> ProposedCode | None:
        hit = candidate.hit
        view = await self._view(
            hit.system, candidate.seventh.code if candidate.seventh else hit.code
        )
        if view is None:
            return None
        note = ""
        if candidate.seventh_hint:
            note = "needs a 7th character: the note does not say the encounter"
        elif hit.laterality == "unspecified side" and problem.laterality is None:
            note = "laterality not documented"
        elif not view.billable:
            note = "not billable as it stands: a more specific code is needed"
        # The note's words the title has, then what case to code adds ("initial visit").
        found = [*analysis_fit.supporting(candidate, problem), *candidate.why]
        support = list(dict.fromkeys(found)) or [w.text for w in problem.words]
        return self.proposed(view, "diagnosis", tuple(support), note)

    async def _rank(self, problem: Problem, code: ProposedCode) -> tuple[int, str]:
        """How likely the problem is the reason for the encounter (lower first), and why."""
        section = self.prepared.kind_at(problem.words[0].start)
        spans = {(w.start, w.end) for a in self.actions for w in a.reason}
        view = await self._view(code.system, code.code)
        seventh = (view.details.get("seventh_char") or {}) if view else {}
        if section == "postop":
            return 0, "the postoperative diagnosis"
        if section == "reason":
            return 0, "the reason for the visit or procedure the case gives"
        if any((w.start, w.end) in spans for w in problem.words):
            return 1, "the reason for the procedure"
        if section == "assessment":
            return 2, "the first condition of the assessment"
        if code.code[:1] in "ST" and str(seventh.get("meaning", "")).startswith("initial"):
            return 3, "an injury at its initial encounter, most likely the reason for the visit"
        if section == "complaint":
            return 4, "the chief complaint (a definitive diagnosis of it, when made, goes first)"
        return 5, "the first condition the case names"

    def _sentence(self, problem: Problem) -> str:
        start, end = problem.sentence
        return " ".join(self.prepared.note[start:end].split())

    # --- codes the case names -----------------------------------------------------------------

    async def code_named(self) -> None:
        proposed = {(c.system, c.code) for item in self.items for c in item.codes}
        for mention in self.prepared.named:
            view = await self._named_view(mention)
            if view is None:
                self.gaps.append(analysis_words.unknown_named(mention))
                continue
            if (view.system, view.code) in proposed:
                continue
            proposed.add((view.system, view.code))
            kind = _kind_of(view)
            note = "named in the case"
            if not view.billable:
                note += "; not billable as it stands"
                self.gaps.append(analysis_words.not_billable_named(view))
            self.items.append(
                Item(
                    mention.text,
                    kind,
                    self._line_of(mention),
                    [self.proposed(view, kind, (mention.text,), note)],
                    at=mention.start,
                    rank=(6, "a code the case names"),
                )
            )

    async def _named_view(self, mention: Mention) -> CodeView | None:
        systems = dict.fromkeys([*filter(None, [mention.declared]), *mention.systems])
        for system in systems:
            view = await self._view(system, mention.code)
            if view is not None:
                return view
        return None

    def _line_of(self, mention: Mention) -> str:
        note = self.prepared.note
        start = note.rfind("\n", 0, mention.start) + 1
        end = note.find("\n", mention.end)
        return " ".join(note[start : end if end != -1 else len(note)].split())

    # --- the codes together ----------------------------------------------------------------

    async def check_together(self) -> None:
        await sequence(self)
        procedures = [c.code for c in self.order if c.system in PROCEDURE_SYSTEMS]
        edits = await analysis_edits.check(procedures)
        self.conflicts += edits.lines
        self.citations += edits.citations
        self.releases += [c.release for c in edits.citations]
        self.edit_pairs = edits.pairs

    def finish(self) -> Draft:
        cited: list[Citation] = []
        for code in self.order:
            label = f"{LABELS.get(code.system, code.system)} {code.display}"
            view = self.views.get((code.system, code.code))
            cited.append(Citation(label, code.url, view.release.label if view else ""))
        self.citations = cited + self.citations
        # Sources: the codes' releases first, then the data the checks read (NCCI sample).
        self.releases = [c.release for c in cited] + self.releases
        findings = tuple(
            Finding(i.text, i.kind, i.excerpt, tuple(i.codes), tuple(i.alternatives), i.notice)
            for i in sorted(self.items, key=lambda i: i.at)
        )
        return Draft(
            problems=findings,
            codes=tuple(self.order),
            sequencing=tuple(dict.fromkeys(self.sequencing)),
            conflicts=tuple(dict.fromkeys(self.conflicts)),
            gaps=tuple(dict.fromkeys(self.gaps)),
            not_coded=tuple(dict.fromkeys(self.not_coded)),
            citations=tuple(dict.fromkeys(c for c in self.citations if c.release or c.url)),
            confidence=analysis_words.confidence(
                coded=[i.codes[0] for i in self.items],
                unresolved=self.unresolved,
                gaps=len(set(self.gaps)),
                conflicts=self.edit_pairs,
                left_out=self.prepared.left_out,
            ),
            markdown="",
            releases=tuple(dict.fromkeys(r for r in self.releases if r)),
        )


def _kind_of(view: CodeView) -> Kind:
    if view.system == CM:
        return "diagnosis"
    if view.system == "hcpcs" and view.code.startswith(_SUPPLY_LETTERS):
        return "supply"
    return "procedure"
