"""Agent assets (group ``agents``): plans, campaign drafts, reports and the weekly growth brief."""
