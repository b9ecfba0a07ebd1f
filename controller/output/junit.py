"""The regress result as JUnit XML (one testsuite per board, one testcase per job), which any CI shows:
a regression is a <failure>, an unreachable board or failed run an <error>, a throttled run <skipped>."""
from __future__ import annotations

import socket
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from ..atomic_write import write_atomic
from ..regress.run import RegressResult


def junit_xml(result: RegressResult) -> str:
    root = ET.Element("testsuites", name="edgebench regress", tests=str(len(result.cases)),
                      failures=str(result.count("failure")), errors=str(result.count("error")),
                      skipped=str(result.count("skipped")))
    boards: dict[str, list] = {}
    for case in result.cases:
        boards.setdefault(case.target.name, []).append(case)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    for board, cases in boards.items():
        suite = ET.SubElement(root, "testsuite", name=f"edgebench.{board}", tests=str(len(cases)),
                              failures=str(sum(c.outcome == "failure" for c in cases)),
                              errors=str(sum(c.outcome == "error" for c in cases)),
                              skipped=str(sum(c.outcome == "skipped" for c in cases)),
                              time=f"{sum(c.seconds for c in cases):.3f}", timestamp=stamp,
                              hostname=socket.gethostname())
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="address", value=cases[0].target.address)
        ET.SubElement(props, "property", name="session", value=str(result.session_id))
        for key, value in sorted(cases[0].target.labels.items()):
            ET.SubElement(props, "property", name=f"label.{key}", value=value)
        for c in cases:
            tc = ET.SubElement(suite, "testcase", classname=f"edgebench.{board}", name=c.job.name,
                               time=f"{c.seconds:.3f}")
            if c.outcome == "failure":
                ET.SubElement(tc, "failure", type="regression", message=c.message).text = _detail(c)
            elif c.outcome == "error":
                ET.SubElement(tc, "error", type="error", message=c.message).text = c.message
            elif c.outcome == "skipped":
                ET.SubElement(tc, "skipped", message=c.message)
            ET.SubElement(tc, "system-out").text = _detail(c)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _detail(c) -> str:
    lines = [f"verdict: {c.verdict}", c.message]
    if c.run_id is not None:
        lines.append(f"stored run: {c.run_id} (controller compare {c.baseline_ids[0]} {c.run_id})"
                     if c.baseline_ids else f"stored run: {c.run_id}")
    return "\n".join(lines)


def write_junit(result: RegressResult, path: str | Path) -> None:
    write_atomic(path, junit_xml(result))  # a CI reading it never sees half a file
