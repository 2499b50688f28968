"""Work and study: the speaker's job, employer, subject and school."""

import re

from memory.extraction.clauses import Clause, Who
from memory.extraction.facts import ExtractedFact
from memory.extraction.objects import NO_LONGER, PLACE_CUT, clean_object
from memory.extraction.vocabulary import END, JOB_NOUNS
from memory.text.normalise import collapse_space
from memory.text.patterns import alternation

_JOB_MODIFIER = r"(?:(?!(?:of|fan|for|to|the|and|with|in|at|like|bit|lot|kind|sort)\b)[\w+#/-]+\s+)"
_I_AM_JOB = re.compile(
    rf"^(?:am|is)\s+(?P<neg>not\s+|no\s+longer\s+)?(?P<job>(?:a|an)\s+{_JOB_MODIFIER}{{0,3}}?"
    rf"(?:{alternation(JOB_NOUNS)})){END}(?:\s+(?:at|for)\s+(?P<org>.+))?",
    re.I,
)
_WORK_AS = re.compile(
    r"^(?:(?P<neg>do not|does not|no longer)\s+)?(?:work|works|am working|is working|have been "
    r"working|has been working|have worked|has worked)\s+as\s+(?P<job>.+)$",
    re.I,
)
_WORK_AT = re.compile(
    r"^(?:(?P<neg>do not|does not|no longer)\s+)?(?P<verb>work|works|am working|is working|have "
    r"been working|has been working|have worked|has worked|am employed|is employed|am interning|"
    r"intern|interns|(?:just\s+)?got\s+a\s+(?:new\s+)?job|started\s+a\s+(?:new\s+)?job|"
    r"started\s+working)\s+(?:at|for|with)\s+(?P<org>.+)$",
    re.I,
)
_STUDY = re.compile(
    r"^(?:(?:am|is)\s+(?:studying|majoring\s+in|doing\s+(?:a|my)\s+(?:degree|masters|master's|phd|"
    r"bachelor's|bachelors)\s+in)|study|studies|major\s+in|majors\s+in)\s+(?P<what>.+)$",
    re.I,
)
_NOT_ORGS = frozenset(
    {"home", "night", "the moment", "the weekend", "a living", "myself", "free", "fun", "money",
     "the weekends", "weekends", "nights", "work"}
)  # fmt: skip


def _org(raw: str) -> str | None:
    value = clean_object(PLACE_CUT.sub("", raw), max_words=8)
    if value is None or value.lower() in _NOT_ORGS:
        return None
    has_proper_noun = re.search(r"(?-i:\b[A-Z])", value)
    if has_proper_noun or re.match(r"^(?:a|an|the)\s+\w", value, re.I):
        return value
    return None


def jobs(pred: str, who: Who, clause: Clause) -> list[ExtractedFact] | None:
    subject = who.subject
    match = _I_AM_JOB.match(pred) or _WORK_AS.match(pred)
    if match is not None:
        job_and_org = re.split(r"\s+(?:at|for)\s+", match.group("job"), maxsplit=1, flags=re.I)
        job = clean_object(job_and_org[0], max_words=6)
        raw_org = match.groupdict().get("org") or (job_and_org[1] if len(job_and_org) > 1 else None)
        if job is None:
            return []
        negated = bool(match.group("neg"))
        if negated:
            verb = "no longer works as" if NO_LONGER.search(clause.clause) else "does not work as"
        else:
            verb = "is" if pred.lower().startswith(("am ", "is ")) else "works as"
        facts = [
            clause.fact(
                subject, "works_as", job, f"{subject} {verb} {job}", negated=negated, confidence=0.9
            )
        ]
        org = _org(raw_org) if raw_org and not negated else None
        if org is not None:
            student = job.lower().endswith("student")
            attribute = "studies_at" if student else "works_at"
            text = f"{subject} {'studies' if student else 'works'} at {org}"
            facts.append(clause.fact(subject, attribute, org, text))
        return facts
    match = _WORK_AT.match(pred)
    if match is not None:
        org, negated = _org(match.group("org")), bool(match.group("neg"))
        if org is None:
            return []
        if negated:
            verb = "no longer works" if NO_LONGER.search(clause.clause) else "does not work"
            text = f"{subject} {verb} at {org}"
        elif "job" in match.group("verb").lower():
            verb = collapse_space(match.group("verb").lower()).removeprefix("just ")
            text = f"{subject} {verb} at {org}{clause.when_text('past')}"
        else:
            text = f"{subject} works at {org}"
        return [clause.fact(subject, "works_at", org, text, negated=negated, confidence=0.9)]
    match = _STUDY.match(pred)
    if match is None:
        return None
    return _studies(match.group("what"), who, clause)


def _studies(raw: str, who: Who, clause: Clause) -> list[ExtractedFact]:
    subject = who.subject
    if re.match(r"^(?:for|with|hard|a lot|all)\b", raw, re.I):
        return []
    subject_and_school = re.split(r"\s+at\s+|^at\s+", raw, maxsplit=1, flags=re.I)
    facts = []
    what = clean_object(subject_and_school[0], max_words=6) if subject_and_school[0] else None
    if what is not None:
        facts.append(clause.fact(subject, "studies", what, f"{subject} is studying {what}"))
    school = _org(subject_and_school[1]) if len(subject_and_school) > 1 else None
    if school is not None:
        facts.append(clause.fact(subject, "studies_at", school, f"{subject} studies at {school}"))
    return facts
