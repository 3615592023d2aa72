"""Pure forecasting engine (Prophet + baselines, rolling-origin backtest); no Dagster in here."""
