"""Analysis: TA-Lib indicators, summary statistics, signals, screens, charts."""
