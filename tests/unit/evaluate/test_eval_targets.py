"""The uncertain-label policy and the image index reader."""

import numpy as np
import pytest

from evaldata_builders import make_eval_shard
from igcl.evaluate.targets import apply_uncertain_policy, read_image_table

RAW = np.array([[1, 0, -1, np.nan]], dtype=np.float32)


@pytest.mark.parametrize("policy, expected", [("ones", [1, 0, 1, 0]), ("zeros", [1, 0, 0, 0]),
                                              ("ignore", [1, 0, np.nan, 0])])
def test_uncertain_policy(policy, expected):
    np.testing.assert_array_equal(apply_uncertain_policy(RAW, policy)[0], np.array(expected, np.float32))


def test_policy_rejects_unknown_values_and_names():
    with pytest.raises(ValueError, match=r"values \[2.0\]"):
        apply_uncertain_policy(np.array([[2.0]]), "ones")
    with pytest.raises(ValueError, match="uncertain policy 'maybe'"):
        apply_uncertain_policy(RAW, "maybe")


def test_read_image_table_and_select(tmp_path):
    _, index = make_eval_shard(tmp_path)
    table = read_image_table(index)
    assert table.raw_labels.shape == (len(table), 5)
    valid = table.select("valid", ("PA", "AP"))
    assert set(valid.splits) == {"valid"} and "LATERAL" not in set(valid.views)
    with pytest.raises(ValueError, match="no images in split 'val'"):
        table.select("val", ("PA",))


def test_missing_pathology_column_names_file_and_column(tmp_path):
    _, index = make_eval_shard(tmp_path, drop_column="Edema")
    with pytest.raises(ValueError, match=r"eval.index.parquet: missing column\(s\) \['Edema'\]"):
        read_image_table(index)
