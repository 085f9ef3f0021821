"""The one pool-manifest reader: older manifests load, broken ones say why."""

import pytest

from agrorisk_common.manifest import MANIFEST_COLUMNS, ManifestError, read_manifest_rows


def test_a_manifest_from_before_the_dataset_columns_loads_with_them_empty(tmp_path):
    path = tmp_path / "manifest.csv"
    path.write_text("risk_id,file,sha256,synthetic\npotato-late-blight,p/a.jpg,abc,TRUE\nx,p/b.jpg,def,\n")
    first, second = read_manifest_rows(path)
    assert list(first) == list(MANIFEST_COLUMNS)
    assert (first["dataset"], first["license"]) == ("", "")
    assert (first["synthetic"], second["synthetic"]) == (True, False)


def test_a_manifest_without_required_columns_is_one_clear_error(tmp_path):
    path = tmp_path / "manifest.csv"
    path.write_text("risk_id,file\nr1,r1/x.jpg\n")
    with pytest.raises(ManifestError, match="lacks column.*sha256"):
        read_manifest_rows(path)
