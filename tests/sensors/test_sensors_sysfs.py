"""The sysfs attribute reader: held open, re-read from 0, and every failure a reason."""
from __future__ import annotations

import os

import pytest

from edgebench.agent.sensors.io.sysfs import ReadError, SysfsAttr, sorted_glob


def test_held_open_and_reread_from_offset_zero(tmp_path):
    p = tmp_path / "power1_input"
    p.write_text("1000\n")
    attr = SysfsAttr(str(p))
    assert attr.read_int() == 1000
    # Renamed away: a reader that reopened by path would fail; a held-open one still reads the same file.
    moved = tmp_path / "moved"
    os.rename(p, moved)
    with open(moved, "r+") as f:
        f.write("2500\n")
    assert attr.read_int() == 2500
    assert attr.read_int() == 2500  # read twice: seek(0) each time, not end-of-file
    attr.close()


def test_vanished_file_is_missing_then_found_again(tmp_path):
    p = tmp_path / "temp"
    p.write_text("45000\n")
    attr = SysfsAttr(str(p))
    assert attr.read_text() == "45000"
    p.unlink()
    with pytest.raises(ReadError, match=r"^missing: .*temp$"):
        attr.read_text()
    p.write_text("47000\n")  # the device came back (a new file)
    assert attr.read_text() == "47000"


def test_garbage_and_empty(tmp_path):
    p = tmp_path / "energy_uj"
    p.write_text("12ab\n")
    attr = SysfsAttr(str(p))
    with pytest.raises(ReadError, match=r"garbage in .*energy_uj: '12ab'"):
        attr.read_int()
    p.write_text("")
    with pytest.raises(ReadError, match=r"^empty: "):
        attr.read_int()


def test_eagain_from_the_kernel(tmp_path):
    """A FIFO with a writer and no data makes read(2) fail with EAGAIN: the branch Orin zones take."""
    fifo = tmp_path / "temp"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    try:
        attr = SysfsAttr(str(fifo))
        with pytest.raises(ReadError, match=r"^temporarily unavailable \(EAGAIN\): "):
            attr.read_text()
        os.write(writer, b"51000\n")
        assert attr.read_text() == "51000"  # same open file, no reopen needed
        with pytest.raises(ReadError, match="EAGAIN"):
            attr.read_text()
        attr.close()
    finally:
        os.close(writer)


def test_directory_where_a_file_should_be(tmp_path):
    (tmp_path / "name").mkdir()
    with pytest.raises(ReadError, match=r"Is a directory: .*name"):
        SysfsAttr(str(tmp_path / "name")).read_text()


def test_sorted_glob_orders_numbers_numerically(tmp_path):
    for n in (10, 2, 1):
        (tmp_path / f"hwmon{n}").mkdir()
    assert [os.path.basename(p) for p in sorted_glob(str(tmp_path / "hwmon*"))] == ["hwmon1", "hwmon2", "hwmon10"]
