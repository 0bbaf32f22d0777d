"""Portfolios: positions and lots from trades and the stored corporate actions, and the
returns of a series of values and cash flows. Pure computations over plain inputs; the
store and the commands around them come with the portfolio tables (issue 16)."""
