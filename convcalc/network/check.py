"""`convcalc check`: each spec's `expect:` block, reported for people, GitHub and JUnit.

A spec passes when its network computes (every layer accepts what reaches it) and every
expectation holds. Exit status: 0 when every spec passes; 1 when a network does not
compute or an expectation fails; 2 when a spec cannot be read (YAML, the format, an
unknown layer or reference, arguments PyTorch's constructor refuses) — 2 wins over 1.
"""

from __future__ import annotations

from ..errors import ConvcalcError, IncompatibleInputError, Location, one_line
from ..record import field, record
from .expect import Outcome, evaluate, read_expect


@record
class Report:
    """One spec's result: its outcomes, or the error that stopped it."""

    source: str
    outcomes: list = field(default_factory=list)
    #: the network does not compute (a layer refuses its input): a failed check
    broken: ConvcalcError | None = None
    #: the spec cannot be read: status 2
    error: ConvcalcError | None = None
    #: (line, message) about the spec (an entry that nothing reads)
    warnings: tuple = ()

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def passed(self) -> bool:
        return self.error is None and self.broken is None and not self.failures

    def status(self) -> int:
        return 2 if self.error is not None else 0 if self.passed else 1


def check_file(path: str, dtype: str | None = None, convention: object = None, loader=None) -> Report:
    """`loader` reads the path into a Spec (default: the YAML loader; the CLI's also reads .onnx)."""
    from . import analyse, load

    source = path
    try:
        spec = (loader or load)(path)
        source = spec.source
        expectations = read_expect(spec)
        try:
            result = analyse(spec, dtype=dtype, convention=convention)
        except IncompatibleInputError as exc:
            return Report(source, [], exc)
        return Report(source, evaluate(expectations, result), None, None, tuple(result.spec_warnings))
    except ConvcalcError as exc:
        return Report(source, [], None, exc.at(Location(source)))


def status(reports: list[Report]) -> int:
    return max((r.status() for r in reports), default=0)


def _where(report: Report, line: int | None) -> str:
    return f"{report.source}:{line}" if line else report.source


def _error_line(exc: ConvcalcError) -> int | None:
    return exc.location.line if exc.location is not None else None


def text_lines(reports: list[Report]) -> list[str]:
    """For a terminal: every failure with file:line, then one verdict per spec and a count."""
    lines = []
    for r in reports:
        if r.error is not None:
            continue  # said on stderr, as every command's errors are
        if r.broken is not None:
            lines.append(f"{r.broken}: the network does not compute")
        for o in r.failures:
            e = o.expectation
            lines.append(f"{_where(r, e.line)}: {e.key}: {one_line(o.message)}")
        n = len(r.outcomes)
        if r.broken is not None:
            lines.append(f"FAIL {r.source}: the network does not compute")
        elif r.failures:
            lines.append(f"FAIL {r.source}: {len(r.failures)} of {n} expectation{_s(n)} failed")
        else:
            what = (f"{n} expectation{_s(n)} {'holds' if n == 1 else 'hold'}" if n
                    else "the network computes (it has no expect: block)")
            lines.append(f"ok   {r.source}: {what}")
    counts = [sum(r.status() == s for r in reports) for s in (0, 1, 2)]
    parts = [f"{counts[0]} passed", f"{counts[1]} failed"] + ([f"{counts[2]} unreadable"] if counts[2] else [])
    lines.append(f"checked {len(reports)} spec{_s(len(reports))}: {', '.join(parts)}")
    return lines


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def github_lines(reports: list[Report]) -> list[str]:
    """GitHub Actions workflow commands: an error annotation at each failure's line."""
    lines = []
    for r in reports:
        if r.error is not None:
            lines.append(_annotation(r.source, _error_line(r.error), "convcalc: unreadable spec",
                                     r.error.message))
        elif r.broken is not None:
            lines.append(_annotation(r.source, _error_line(r.broken), "convcalc: the network does not compute",
                                     str(r.broken)))
        for o in r.failures:
            e = o.expectation
            lines.append(_annotation(r.source, e.line, f"convcalc check: {e.key}", o.message))
        for line, w in r.warnings:
            where = f"file={_property(r.source)}" + (f",line={line}" if line else "")
            lines.append(f"::warning {where},title=convcalc::{_data(one_line(w))}")
    return lines + text_lines(reports)[-1:]


def _annotation(source: str, line: int | None, title: str, message: str) -> str:
    where = f"file={_property(source)}" + (f",line={line}" if line else "")
    return f"::error {where},title={_property(title)}::{_data(one_line(message))}"


def _data(text: str) -> str:
    """A workflow command's message: GitHub's escapes for %, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """A workflow command's property value: also ':' and ','."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def junit_xml(reports: list[Report]) -> str:
    """A JUnit report: a suite per spec, a test case per expectation (plus one that the
    network computes); an unreadable spec is an <error>."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name="convcalc check")
    totals = [0, 0, 0]
    for r in reports:
        suite = ET.SubElement(root, "testsuite", name=r.source)
        tests = failures = errors = 0
        if r.error is not None:
            case = ET.SubElement(suite, "testcase", classname=r.source, name="read the spec",
                                 file=r.source, line=str(_error_line(r.error) or 0))
            ET.SubElement(case, "error", message=_xml_text(r.error.message), type="ConvcalcError").text = \
                _xml_text(str(r.error))
            tests, errors = 1, 1
        else:
            case = ET.SubElement(suite, "testcase", classname=r.source, name="the network computes",
                                 file=r.source)
            tests += 1
            if r.broken is not None:
                case.set("line", str(_error_line(r.broken) or 0))
                ET.SubElement(case, "failure", message=_xml_text(r.broken.message)).text = _xml_text(str(r.broken))
                failures += 1
            for o in r.outcomes:
                e = o.expectation
                case = ET.SubElement(suite, "testcase", classname=r.source, name=e.key, file=r.source,
                                     line=str(e.line))
                tests += 1
                if not o.ok:
                    ET.SubElement(case, "failure", message=_xml_text(o.message)).text = \
                        _xml_text(f"{_where(r, e.line)}: {e.key}: {o.message}")
                    failures += 1
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
        totals = [totals[0] + tests, totals[1] + failures, totals[2] + errors]
    root.set("tests", str(totals[0]))
    root.set("failures", str(totals[1]))
    root.set("errors", str(totals[2]))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _xml_text(text: str) -> str:
    """XML 1.0 cannot hold most control characters, even escaped: write them as escapes."""
    return one_line(text)
