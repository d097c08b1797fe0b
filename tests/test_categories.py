"""Label spaces: a model's categories are checked against a dataset's, never silently mixed."""

from __future__ import annotations

import pytest

from vis_bench.data import load_dataset
from vis_bench.data.videos import Category
from vis_bench.errors import InputError
from vis_bench.formats.categories import (
    OVIS,
    SYNTHETIC,
    YTVIS_2019,
    YTVIS_2021,
    CategoryMapping,
    check_label_space,
)


def test_same_label_space_gives_the_identity():
    mapping = check_label_space("ytvis2019", YTVIS_2019)
    assert isinstance(mapping, CategoryMapping) and mapping.is_identity
    assert mapping.dataset_id(7) == 7


def test_names_compare_up_to_case_and_separators():
    # A re-cased copy of the OVIS categories, as a dataset file's records would give them.
    records = [
        Category(cid, name.lower().replace("_", " ")) for cid, name in OVIS.id_to_name().items()
    ]
    assert check_label_space(OVIS, records).is_identity


def test_youtube_vis_model_on_ovis_categories_is_refused_with_the_first_conflict():
    with pytest.raises(InputError) as err:
        check_label_space("ytvis2019", OVIS)
    message = str(err.value)
    assert err.value.field == "categories"
    assert "ytvis2019, 40 categories" in message and "ovis, 25 categories" in message
    assert "category id 2 means 'giant_panda' to the model and 'Bird'" in message
    assert "wrong classes" in message


def test_same_count_different_meaning_is_refused():
    # YouTube-VIS 2019 and 2021 both have 40 categories, in different orders.
    with pytest.raises(InputError, match="category id 1 means 'person'"):
        check_label_space(YTVIS_2019, YTVIS_2021)


def test_mapping_by_name_is_explicit_about_what_it_drops():
    mapping = check_label_space(YTVIS_2019, OVIS, map_by_name=True)
    assert mapping.dataset_id(1) == OVIS.names.index("Person") + 1  # person -> Person
    assert mapping.dataset_id(2) == OVIS.names.index("Giant_panda") + 1  # giant_panda
    assert mapping.dataset_id(5) is None  # skateboard: no OVIS category
    assert (5, "skateboard") in mapping.dropped
    assert (OVIS.names.index("Sheep") + 1, "Sheep") in mapping.unreachable
    assert not mapping.is_identity and "dropped" in mapping.describe()


def test_aliases_map_differently_named_categories():
    plain = check_label_space(YTVIS_2019, OVIS, map_by_name=True)
    aliased = check_label_space(
        YTVIS_2019, OVIS, map_by_name=True, aliases={"motorbike": "Motorcycle"}
    )
    motorbike = YTVIS_2019.names.index("motorbike") + 1
    assert plain.dataset_id(motorbike) is None
    assert aliased.dataset_id(motorbike) == OVIS.names.index("Motorcycle") + 1


def test_no_shared_name_is_an_error_even_when_mapping():
    with pytest.raises(InputError, match="no category of the model"):
        check_label_space(SYNTHETIC, OVIS, map_by_name=True)


def test_dataset_categories_from_a_file(golden_dir):
    dataset = load_dataset(golden_dir / "ovis_eval" / "public" / "case_04" / "gt.json")
    assert check_label_space("ovis", dataset.categories).is_identity
    with pytest.raises(InputError):
        check_label_space("synthetic", dataset.categories)


def test_unknown_dataset_name_is_an_input_error():
    with pytest.raises(InputError, match="unknown dataset"):
        check_label_space("coco", OVIS)
