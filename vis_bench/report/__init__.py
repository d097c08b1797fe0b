"""Records of sweep cells and everything generated from them: tables, plots, leaderboard."""
