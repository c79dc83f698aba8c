import {
  type ColumnDef,
  flexRender,
  getCoreRowModel,
  getSortedRowModel,
  type SortingState,
  useReactTable,
} from "@tanstack/react-table";
import { type ReactNode, useState } from "react";

export interface DataTableProps<T> {
  data: T[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  columns: ColumnDef<T, any>[];
  rowTestId?: (row: T) => string | undefined;
  /** A stable id per row (default: the row test id, else its index): rows keep their state when others arrive. */
  rowId?: (row: T) => string;
  rowClass?: (row: T) => string | undefined;
  onRowClick?: (row: T) => void;
  testId?: string;
  empty?: ReactNode;
  /** Extra content under a row (an expanded decision). */
  expanded?: (row: T) => ReactNode | null;
  initialSort?: SortingState;
  dense?: boolean;
}

export function DataTable<T>({ data, columns, rowTestId, rowId, rowClass, onRowClick, testId, empty, expanded, initialSort, dense }: DataTableProps<T>) {
  const [sorting, setSorting] = useState<SortingState>(initialSort ?? []);
  const table = useReactTable({
    data,
    columns,
    state: { sorting },
    onSortingChange: setSorting,
    getRowId: (row, index) => rowId?.(row) ?? rowTestId?.(row) ?? String(index),
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
  });
  const colCount = table.getAllLeafColumns().length;
  return (
    <div className="table-wrap">
      <table className={`table ${dense ? "dense" : ""}`} data-testid={testId}>
        <thead>
          {table.getHeaderGroups().map((hg) => (
            <tr key={hg.id}>
              {hg.headers.map((h) => {
                const sorted = h.column.getIsSorted();
                const canSort = h.column.getCanSort();
                return (
                  <th
                    key={h.id}
                    className={`${canSort ? "sortable" : ""} ${(h.column.columnDef.meta as { className?: string } | undefined)?.className ?? ""}`}
                    onClick={canSort ? h.column.getToggleSortingHandler() : undefined}
                    aria-sort={sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : undefined}
                  >
                    {h.isPlaceholder ? null : flexRender(h.column.columnDef.header, h.getContext())}
                    {sorted === "asc" ? " ▲" : sorted === "desc" ? " ▼" : ""}
                  </th>
                );
              })}
            </tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.length === 0 ? (
            <tr>
              <td colSpan={colCount} className="empty-row">
                {empty ?? "Nothing to show."}
              </td>
            </tr>
          ) : (
            table.getRowModel().rows.map((row) => {
              const extra = expanded?.(row.original);
              return [
                <tr
                  key={row.id}
                  data-testid={rowTestId?.(row.original)}
                  className={`${rowClass?.(row.original) ?? ""} ${onRowClick ? "clickable" : ""}`}
                  onClick={onRowClick ? () => onRowClick(row.original) : undefined}
                >
                  {row.getVisibleCells().map((cell) => (
                    <td key={cell.id} className={(cell.column.columnDef.meta as { className?: string } | undefined)?.className}>
                      {flexRender(cell.column.columnDef.cell, cell.getContext())}
                    </td>
                  ))}
                </tr>,
                extra ? (
                  <tr key={`${row.id}-x`} className="expanded-row">
                    <td colSpan={colCount}>{extra}</td>
                  </tr>
                ) : null,
              ];
            })
          )}
        </tbody>
      </table>
    </div>
  );
}

/** Column meta for right-aligned numbers. */
export const NUM = { className: "num" };
