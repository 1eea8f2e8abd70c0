"""Pages of periodic reports: one's own daily/weekly/monthly report, and the team's."""
