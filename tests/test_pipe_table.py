"""`eval`'s printed tables (commands/_pipe_table.py): GitHub pipe tables, cells as given."""

from __future__ import annotations

from vis_bench.commands._pipe_table import pipe_table


def test_number_columns_are_right_aligned_and_keep_their_digits():
    table = pipe_table(
        [["AP", "45.10"], ["APm", "n/a"], ["AR100", "100.00"]], ["metric", "value (%)"]
    )
    assert table.splitlines() == [
        "| metric | value (%) |",
        "|--------|-----------|",
        "| AP     |     45.10 |",
        "| APm    |       n/a |",
        "| AR100  |    100.00 |",
    ]


def test_text_columns_are_left_aligned_and_ids_right_aligned():
    table = pipe_table(
        [[7, "lvcat_0007", "n/a"], [1203, "cat", "12.50"]], ["category", "name", "AP (%)"]
    )
    assert table.splitlines()[2:] == [
        "|        7 | lvcat_0007 |    n/a |",
        "|     1203 | cat        |  12.50 |",
    ]


def test_a_column_of_n_a_only_is_text_and_no_rows_keep_the_headers():
    assert pipe_table([["APl", "n/a"]], ["metric", "value"]).splitlines()[2] == "| APl    | n/a   |"
    assert pipe_table([], ["category", "AP"]) == "| category | AP |\n|----------|----|"
