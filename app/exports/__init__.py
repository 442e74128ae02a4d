"""Excel workbooks out (openpyxl, write-only): a cycle's results, the results list as filtered on
screen, the ranking and the what-if table. Every text cell goes through :func:`safe_cell`.

This room may import the models, scoping, services and rules; never the screens, the APIs or app/web
(they call it). See README.md.
"""

from .cells import safe_cell
from .cycle import CycleExportRefused, cycle_rows_clause, cycle_workbook
from .lists import ranking_workbook, results_workbook, whatif_workbook
from .sheets import XLSX_MIMETYPE, Book, Column

__all__ = ["XLSX_MIMETYPE", "Book", "Column", "CycleExportRefused", "cycle_rows_clause", "cycle_workbook",
           "ranking_workbook", "results_workbook", "safe_cell", "whatif_workbook"]
