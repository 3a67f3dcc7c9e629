"""Readers say whether a file is missing or corrupt, with advice that fits; writers honour the umask."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from degeneracy.io import CorruptFileError, MissingFileError, atomic_write_parquet, load_checkpoint, read_parquet


def test_missing_file_is_not_called_corrupt(tmp_path):
    with pytest.raises(MissingFileError) as info:
        load_checkpoint(tmp_path / "results" / "s" / "train" / "c" / "seed0.pt")
    msg = str(info.value)
    assert "no such checkpoint" in msg and "corrupt" not in msg and "rm " not in msg
    assert "snakemake --cores 2" in msg  # a workflow output: how to make it
    with pytest.raises(FileNotFoundError) as info:  # also a FileNotFoundError
        read_parquet(tmp_path / "elsewhere.parquet")
    assert "check the path" in str(info.value) and "snakemake" not in str(info.value)


def test_corrupt_file_says_delete_and_make_again(tmp_path):
    path = tmp_path / "results" / "s" / "networks.parquet"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PAR1 truncated")
    with pytest.raises(CorruptFileError) as info:
        read_parquet(path)
    assert not isinstance(info.value, MissingFileError)
    assert "not a readable Parquet file" in str(info.value) and f"rm '{path}'" in str(info.value)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_outputs_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = atomic_write_parquet(pd.DataFrame({"a": [1]}), tmp_path / f"x{umask}.parquet")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode
