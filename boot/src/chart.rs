//! The two ways the boot tool shows figures to a person: aligned text tables, and SVG bar
//! charts on a logarithmic scale (the figures span up to six orders of magnitude). `boot
//! compare` and `boot bench` both draw with these.

use std::fmt::Write;

/// How a table column's cells line up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table column: its least width in characters, and how its cells line up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    pub width: usize,
    pub align: Align,
}

/// One line of a table (without its line break): each cell padded to its column's width, the
/// columns separated by one space, no trailing spaces.
pub fn aligned_line<S: AsRef<str>>(cells: &[S], columns: &[Column]) -> String {
    let mut line = String::new();
    for (index, (cell, column)) in cells.iter().zip(columns).enumerate() {
        if index > 0 {
            line.push(' ');
        }
        let cell = cell.as_ref();
        let width = column.width;
        let _ = match column.align {
            Align::Left => write!(line, "{cell:<width$}"),
            Align::Right => write!(line, "{cell:>width$}"),
        };
    }
    line.trim_end().to_owned()
}

/// A table whose columns are as wide as their widest cell, one line per row, each ending with a
/// line break.
pub fn aligned_table(rows: &[Vec<String>], aligns: &[Align]) -> String {
    let columns: Vec<Column> = aligns
        .iter()
        .enumerate()
        .map(|(index, &align)| Column {
            width: rows
                .iter()
                .filter_map(|row| row.get(index))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0),
            align,
        })
        .collect();
    rows.iter()
        .map(|row| aligned_line(row, &columns) + "\n")
        .collect()
}

/// `value` with a comma between each group of three digits, as the docs write figures.
pub fn with_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut text = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// A kind of bar, drawn in one colour and named in the legend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series {
    pub name: String,
    /// An SVG colour (`#2b6cb0`).
    pub colour: String,
}

/// One bar: its series (an index into the chart's series), value, and the text after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bar {
    pub series: usize,
    pub value: u64,
    pub label: String,
}

/// Bars drawn together under one label (an operation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub label: String,
    pub bars: Vec<Bar>,
}

/// Groups sharing one scale (one unit), under a heading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Panel {
    pub heading: String,
    pub groups: Vec<Group>,
}

/// A chart: a title, panels one under the other, and a legend of the series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chart {
    pub title: String,
    pub series: Vec<Series>,
    pub panels: Vec<Panel>,
}

/// Colours for series, in order; a chart with more series uses them again.
pub const PALETTE: [&str; 8] = [
    "#2b6cb0", "#dd6b20", "#4a5568", "#38a169", "#805ad5", "#d53f8c", "#d69e2e", "#319795",
];

const WIDTH: f64 = 1100.0;
const GROUP_LABEL_WIDTH: f64 = 300.0;
/// Room kept right of the longest bar for its text.
const BAR_TEXT_WIDTH: f64 = 380.0;
const BAR_HEIGHT: f64 = 14.0;
const GROUP_GAP: f64 = 10.0;
const HEADING_HEIGHT: f64 = 30.0;

impl Chart {
    /// The chart as an SVG document: in each panel, a bar's length is the logarithm of one plus
    /// its value, the panel's largest value spanning the whole width.
    pub fn svg(&self) -> String {
        let bar_area = WIDTH - GROUP_LABEL_WIDTH - BAR_TEXT_WIDTH;
        let mut body = String::new();
        let mut y = 40.0;
        for panel in &self.panels {
            let _ = writeln!(
                body,
                r#"<text x="10" y="{}" font-size="13" font-weight="bold">{}</text>"#,
                y + 16.0,
                escape(&panel.heading)
            );
            y += HEADING_HEIGHT;
            let largest = panel
                .groups
                .iter()
                .flat_map(|group| &group.bars)
                .map(|bar| bar.value)
                .max()
                .unwrap_or(0);
            let scale = bar_area / ((largest as f64) + 1.0).log10().max(1.0);
            for group in &panel.groups {
                let height = BAR_HEIGHT * group.bars.len().max(1) as f64;
                let _ = writeln!(
                    body,
                    r#"<text x="10" y="{}">{}</text>"#,
                    y + height / 2.0 + 4.0,
                    escape(&group.label)
                );
                for (index, bar) in group.bars.iter().enumerate() {
                    let top = y + BAR_HEIGHT * index as f64;
                    let length = ((bar.value as f64 + 1.0).log10() * scale).max(1.0);
                    let colour = self
                        .series
                        .get(bar.series)
                        .map_or(PALETTE[0], |series| series.colour.as_str());
                    let _ = writeln!(
                        body,
                        r#"<rect x="{GROUP_LABEL_WIDTH}" y="{top}" width="{length:.1}" height="{}" fill="{colour}"/><text x="{:.1}" y="{}">{}</text>"#,
                        BAR_HEIGHT - 2.0,
                        GROUP_LABEL_WIDTH + length + 4.0,
                        top + BAR_HEIGHT - 4.0,
                        escape(&bar.label)
                    );
                }
                y += height + GROUP_GAP;
            }
        }
        let legend_y = y + 20.0;
        for (index, series) in self.series.iter().enumerate() {
            let x = 10.0 + 160.0 * (index % 6) as f64;
            let row_y = legend_y + 20.0 * (index / 6) as f64;
            let _ = writeln!(
                body,
                r#"<rect x="{x}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{row_y}">{}</text>"#,
                row_y - 10.0,
                series.colour,
                x + 16.0,
                escape(&series.name)
            );
        }
        let height = legend_y + 20.0 * self.series.len().div_ceil(6) as f64 + 10.0;
        let mut text = String::new();
        let _ = writeln!(
            text,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(
            text,
            r#"<text x="10" y="20" font-size="14">{}</text>"#,
            escape(&self.title)
        );
        text.push_str(&body);
        text.push_str("</svg>\n");
        text
    }
}

/// `text` with the characters XML gives a meaning replaced by their entities.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_pad_each_column_and_drop_trailing_spaces() {
        let columns = [
            Column {
                width: 4,
                align: Align::Left,
            },
            Column {
                width: 6,
                align: Align::Right,
            },
            Column {
                width: 5,
                align: Align::Left,
            },
        ];
        assert_eq!(aligned_line(&["B1", "61", "x"], &columns), "B1       61 x");
        assert_eq!(
            aligned_line(&["B10", "1234567", ""], &columns),
            "B10  1234567"
        );
    }

    #[test]
    fn a_table_is_as_wide_as_its_widest_cells() {
        let rows = vec![
            vec!["B1".to_owned(), "61".to_owned(), "instructions".to_owned()],
            vec!["B4.micro".to_owned(), "3,140".to_owned(), "us".to_owned()],
        ];
        let table = aligned_table(&rows, &[Align::Left, Align::Right, Align::Left]);
        assert_eq!(table, "B1          61 instructions\nB4.micro 3,140 us\n");
    }

    #[test]
    fn thousands_are_separated_by_commas() {
        assert_eq!(with_thousands(0), "0");
        assert_eq!(with_thousands(999), "999");
        assert_eq!(with_thousands(1_000), "1,000");
        assert_eq!(with_thousands(86_230), "86,230");
        assert_eq!(with_thousands(1_234_567), "1,234,567");
    }

    fn chart() -> Chart {
        Chart {
            title: "figures <test> & more".to_owned(),
            series: vec![
                Series {
                    name: "one".to_owned(),
                    colour: PALETTE[0].to_owned(),
                },
                Series {
                    name: "two".to_owned(),
                    colour: PALETTE[1].to_owned(),
                },
            ],
            panels: vec![Panel {
                heading: "instructions".to_owned(),
                groups: vec![
                    Group {
                        label: "B1".to_owned(),
                        bars: vec![
                            Bar {
                                series: 0,
                                value: 0,
                                label: "zero".to_owned(),
                            },
                            Bar {
                                series: 1,
                                value: 99,
                                label: "ninety-nine".to_owned(),
                            },
                        ],
                    },
                    Group {
                        label: "B2".to_owned(),
                        bars: vec![Bar {
                            series: 0,
                            value: 9_999,
                            label: "most".to_owned(),
                        }],
                    },
                ],
            }],
        }
    }

    #[test]
    fn the_chart_draws_a_bar_per_value_and_a_square_per_series() {
        let svg = chart().svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<rect").count(), 3 + 2);
        assert!(svg.contains("figures &lt;test&gt; &amp; more"), "{svg}");
        assert!(!svg.contains("<test>"));
    }

    #[test]
    fn bar_lengths_follow_the_logarithm_of_the_values() {
        let svg = chart().svg();
        let widths: Vec<f64> = svg
            .lines()
            .filter(|line| line.starts_with(&format!("<rect x=\"{GROUP_LABEL_WIDTH}\"")))
            .map(|line| {
                let start = line.find("width=\"").unwrap() + 7;
                line[start..start + line[start..].find('"').unwrap()]
                    .parse()
                    .unwrap()
            })
            .collect();
        let full = WIDTH - GROUP_LABEL_WIDTH - BAR_TEXT_WIDTH;
        assert_eq!(widths.len(), 3);
        assert_eq!(widths[0], 1.0, "a zero still shows");
        assert!((widths[1] - full / 2.0).abs() < 0.1, "{widths:?}");
        assert!((widths[2] - full).abs() < 0.1, "{widths:?}");
    }
}
