import pytest
from packaging.version import Version

from envgen.errors import BadInput
from envgen.models import Accel, PyVer


@pytest.mark.parametrize("text,kind,tag,dotted", [
    ("10.2", "cuda", "cu102", "10.2"),
    ("cu102", "cuda", "cu102", "10.2"),
    ("CU118", "cuda", "cu118", "11.8"),
    ("cuda11.8", "cuda", "cu118", "11.8"),
    ("cu92", "cuda", "cu92", "9.2"),
    ("cu100", "cuda", "cu100", "10.0"),
    ("12.4.1", "cuda", "cu124", "12.4"),
    ("cu130", "cuda", "cu130", "13.0"),
    ("cpu", "cpu", "cpu", "cpu"),
    ("rocm5.7", "rocm", "rocm5.7", "5.7"),
    ("rocm4.0.1", "rocm", "rocm4.0.1", "4.0.1"),
    ("xpu", "xpu", "xpu", "xpu"),
], ids=lambda v: str(v))
def test_accel_parse(text, kind, tag, dotted):
    a = Accel.parse(text)
    assert (a.kind, a.tag, a.dotted) == (kind, tag, dotted)
    assert Accel.parse(a.tag) == a


@pytest.mark.parametrize("text", ["cu", "11", "gpu", "rocm", "cuda-x", ""])
def test_accel_parse_rejects(text):
    with pytest.raises(BadInput) as exc:
        Accel.parse(text)
    assert exc.value.hint


@pytest.mark.parametrize("text,version,free", [("3.11", "3.11", False), ("3.13t", "3.13", True),
                                               ("2.7", "2.7", False), ("3.9.7", "3.9", False)])
def test_pyver(text, version, free):
    p = PyVer.parse(text)
    assert p.version == Version(version) and p.freethreaded is free


@pytest.mark.parametrize("text", ["3", "x.y", "three"])
def test_pyver_rejects(text):
    with pytest.raises(BadInput):
        PyVer.parse(text)
