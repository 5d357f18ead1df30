"""Allocation: the integer sourcing problem, its solvers and the independent checker.

Only :mod:`oms_sourcing.allocation.cpsat` imports OR-Tools, and only when it is used.
"""
