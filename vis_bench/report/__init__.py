"""Everything generated from sweep cells' records (vis_bench/records): tables, plots, leaderboard."""
