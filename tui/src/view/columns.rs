//! Tables whose columns drop out, least important first, when the terminal is narrow, so a
//! value is either shown whole or not at all (a right-aligned "52.4 req/s" cut to "req/s" would
//! mislead).

use ratatui::layout::{Alignment, Constraint};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row};

/// Column gap used by every table.
pub(super) const SPACING: u16 = 1;

/// One column: header, width, importance and how to draw a row's cell.
pub(super) struct Column<'a, T> {
    header: &'static str,
    width: Constraint,
    /// 0 is always kept; higher ranks go first when space runs out.
    rank: u8,
    right: bool,
    /// Narrowest useful width, when `width` does not say it.
    min: Option<u16>,
    cell: Box<dyn Fn(&T) -> Line<'static> + 'a>,
}

impl<'a, T> Column<'a, T> {
    /// A left-aligned column; `width` is `Length(n)` or `Min(n)`.
    pub(super) fn new(
        header: &'static str,
        width: Constraint,
        rank: u8,
        cell: impl Fn(&T) -> Line<'static> + 'a,
    ) -> Self {
        Column {
            header,
            width,
            rank,
            right: false,
            min: None,
            cell: Box::new(cell),
        }
    }

    /// Align header and cells right (numbers).
    pub(super) fn right(mut self) -> Self {
        self.right = true;
        self
    }

    /// The column needs at least `min` cells (for `Max` or `Fill` widths).
    pub(super) fn min(mut self, min: u16) -> Self {
        self.min = Some(min);
        self
    }

    fn min_width(&self) -> u16 {
        if let Some(m) = self.min {
            return m;
        }
        match self.width {
            Constraint::Length(n) | Constraint::Min(n) | Constraint::Max(n) => n,
            _ => 1,
        }
    }

    fn align(&self, line: Line<'static>) -> Cell<'static> {
        Cell::from(if self.right {
            line.alignment(Alignment::Right)
        } else {
            line
        })
    }
}

/// The columns that fit a width, in display order.
pub(super) struct Columns<'a, T> {
    cols: Vec<Column<'a, T>>,
}

impl<'a, T> Columns<'a, T> {
    /// Keep the most important columns whose minimum widths fit in `width` cells.
    pub(super) fn fit(cols: Vec<Column<'a, T>>, width: u16) -> Self {
        let mut order: Vec<usize> = (0..cols.len()).collect();
        order.sort_by_key(|&i| cols[i].rank);
        let mut keep = vec![false; cols.len()];
        let mut used = 0u16;
        for i in order {
            let need = cols[i].min_width() + if used == 0 { 0 } else { SPACING };
            if cols[i].rank == 0 || used + need <= width {
                keep[i] = true;
                used = used.saturating_add(need);
            }
        }
        let cols = cols
            .into_iter()
            .zip(keep)
            .filter_map(|(c, k)| k.then_some(c))
            .collect();
        Columns { cols }
    }

    /// The header row.
    pub(super) fn header(&self, style: Style) -> Row<'static> {
        Row::new(self.cols.iter().map(|c| c.align(Line::from(c.header)))).style(style)
    }

    /// One data row.
    pub(super) fn row(&self, item: &T) -> Row<'static> {
        Row::new(self.cols.iter().map(|c| c.align((c.cell)(item))))
    }

    /// Width constraints of the kept columns.
    pub(super) fn widths(&self) -> Vec<Constraint> {
        self.cols.iter().map(|c| c.width).collect()
    }

    /// Headers of the kept columns (for tests).
    #[cfg(test)]
    pub(super) fn headers(&self) -> Vec<&'static str> {
        self.cols.iter().map(|c| c.header).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_important_columns_go_first() {
        let make = || {
            vec![
                Column::new("NAME", Constraint::Min(10), 0, |_: &u8| Line::from("")),
                Column::new("A", Constraint::Length(5), 1, |_: &u8| Line::from("")),
                Column::new("B", Constraint::Length(5), 3, |_: &u8| Line::from("")),
                Column::new("C", Constraint::Length(5), 2, |_: &u8| Line::from("")).right(),
            ]
        };
        assert_eq!(Columns::fit(make(), 100).headers(), ["NAME", "A", "B", "C"]);
        assert_eq!(Columns::fit(make(), 22).headers(), ["NAME", "A", "C"]);
        assert_eq!(Columns::fit(make(), 16).headers(), ["NAME", "A"]);
        assert_eq!(Columns::fit(make(), 3).headers(), ["NAME"]);
    }
}
