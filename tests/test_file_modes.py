"""Every file gradwise writes goes through the one atomic writer: it appears whole, and with
the permissions any other new file gets (the umask's), not a temporary file's owner-only."""

import os
import stat

import pytest

from gradwise.cli import main
from gradwise.storage.atomic import write_file, write_json


def ordinary_mode(folder):
    probe = folder / "probe"
    probe.write_bytes(b"")
    return stat.S_IMODE(probe.stat().st_mode)


@pytest.mark.parametrize(
    "command, written",
    [
        (["data", "show", "digits", "--out", "{out}/grid.png"], ["grid.png"]),
        (["train", "--data", "digits", "--epochs", "1", "--quiet", "--out", "{out}/run"],
         ["run/model.npz", "run/summary.json", "run/history.json", "run/checkpoint.npz"]),
        (["knn", "--data", "digits", "--k", "1,3", "--folds", "2", "--out", "{out}/knn"],
         ["knn/knn.png", "knn/result.json"]),
        (["landscape", "--surface", "saddle", "--optimizers", "sgd", "--steps", "5",
          "--out", "{out}/race.gif"], ["race.gif", "race.png"]),
    ],
)  # fmt: skip
def test_files_get_the_mode_of_any_other_file(command, written, tmp_path):
    assert main([part.format(out=tmp_path) for part in command]) == 0
    mode = ordinary_mode(tmp_path)
    for name in written:
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = write_json(tmp_path / "a.json", {"old": 1})

    def fail(handle):
        handle.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_file(target, fail)
    assert target.read_text() == '{\n "old": 1\n}\n'
    assert os.listdir(tmp_path) == ["a.json"]


def test_a_missing_folder_is_an_error_unless_asked_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such directory"):
        write_json(tmp_path / "new" / "a.json", {})
    assert write_json(tmp_path / "new" / "a.json", {}, make_parents=True).exists()
