//! The comparison `boot compare` prints: each operation's figure on the exokernel path, the
//! microkernel path and Linux in the same machine, with the ratios between them, as a table and
//! as an SVG bar chart.

use std::collections::BTreeMap;

use crate::bench_report::parse_figures;
use crate::chart::{
    Align, Bar, Chart, Column as TableColumn, Group, PALETTE, Panel, Series, aligned_line,
};

/// The operations compared, by row ID and figure name (as `tests/programs/bench` and `linux-bench` print
/// them).
pub const ROWS: [(&str, &str, &str); 7] = [
    ("B1", "null_syscall", "null system call"),
    ("B2", "ipc_round_trip", "IPC round trip (PCT; Linux: pipe)"),
    ("B3", "user_fault_round_trip", "user fault round trip"),
    ("B4", "cached_read_4k", "read 4 KiB, cached"),
    (
        "B5",
        "create_write_1k_close_unlink",
        "create, write 1 KiB, close, unlink",
    ),
    ("B6", "spawn_wait_true", "spawn + wait"),
    ("B7", "fork_wait", "fork + wait"),
];

/// The three columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Column {
    Exokernel,
    Microkernel,
    Linux,
}

/// What the kernel counted per operation (figures named `NAME_kernel_entries` and
/// `NAME_switches`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Count {
    Entries,
    Switches,
}

/// Figures by row ID and column.
#[derive(Debug, Default)]
pub struct Figures {
    values: BTreeMap<(&'static str, Column), u64>,
    counts: BTreeMap<(&'static str, Column, Count), u64>,
}

impl Figures {
    /// Reads figure lines (`ID name value unit`, others skipped): `Bn` is the exokernel path, `Bn.micro` the
    /// microkernel path, `Bn.linux` Linux. B2 is protected control transfer, the primitive
    /// both of this kernel's paths are built on, so it fills both columns; the rows that only
    /// one path has leave the other empty.
    pub fn read<'a>(lines: impl IntoIterator<Item = &'a str>) -> Figures {
        let mut figures = Figures::default();
        for figure in parse_figures(lines) {
            let column = match figure.variant() {
                "" => Column::Exokernel,
                "micro" => Column::Microkernel,
                "linux" => Column::Linux,
                _ => continue,
            };
            let Some(&(row, expected_name, _)) = ROWS.iter().find(|(id, ..)| *id == figure.row())
            else {
                continue;
            };
            let value = figure.value;
            let count = match figure.name.strip_prefix(expected_name) {
                Some("") => None,
                Some("_kernel_entries") => Some(Count::Entries),
                Some("_switches") => Some(Count::Switches),
                _ => continue,
            };
            if let Some(count) = count {
                figures.counts.insert((row, column, count), value);
                if row == "B2" && column == Column::Exokernel {
                    figures
                        .counts
                        .insert((row, Column::Microkernel, count), value);
                }
                continue;
            }
            figures.values.insert((row, column), value);
            if row == "B2" && column == Column::Exokernel {
                figures.values.insert((row, Column::Microkernel), value);
            }
        }
        figures
    }

    pub fn get(&self, row: &str, column: Column) -> Option<u64> {
        ROWS.iter()
            .find(|(id, ..)| *id == row)
            .and_then(|(id, ..)| self.values.get(&(*id, column)).copied())
    }

    /// What the kernel counted per operation of `row` on the path of `column`.
    pub fn count(&self, row: &str, column: Column, count: Count) -> Option<u64> {
        ROWS.iter()
            .find(|(id, ..)| *id == row)
            .and_then(|(id, ..)| self.counts.get(&(*id, column, count)).copied())
    }

    /// Whether any Linux figure is there.
    pub fn has_linux(&self) -> bool {
        self.values
            .keys()
            .any(|(_, column)| *column == Column::Linux)
    }
}

fn cell(value: Option<u64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| value.to_string())
}

fn ratio(numerator: Option<u64>, denominator: Option<u64>) -> String {
    match (numerator, denominator) {
        (Some(numerator), Some(denominator)) if denominator > 0 => {
            format!("{:.2}x", numerator as f64 / denominator as f64)
        }
        _ => "-".to_owned(),
    }
}

/// The columns of [`table`]: row, operation, the three paths, the two ratios.
const TABLE_COLUMNS: [TableColumn; 7] = [
    TableColumn {
        width: 4,
        align: Align::Left,
    },
    TableColumn {
        width: 36,
        align: Align::Left,
    },
    TableColumn {
        width: 12,
        align: Align::Right,
    },
    TableColumn {
        width: 12,
        align: Align::Right,
    },
    TableColumn {
        width: 12,
        align: Align::Right,
    },
    TableColumn {
        width: 10,
        align: Align::Right,
    },
    TableColumn {
        width: 10,
        align: Align::Right,
    },
];

/// The columns of [`counts_table`]: row, operation, the two paths of this kernel.
const COUNTS_COLUMNS: [TableColumn; 4] = [
    TABLE_COLUMNS[0],
    TABLE_COLUMNS[1],
    TableColumn {
        width: 20,
        align: Align::Right,
    },
    TableColumn {
        width: 20,
        align: Align::Right,
    },
];

/// What the kernel counted per operation, on each of its paths, for the rows it counted.
pub fn counts_table(figures: &Figures) -> String {
    let mut text = aligned_line(
        &[
            "row",
            "kernel entries, switches",
            "exokernel",
            "microkernel",
        ],
        &COUNTS_COLUMNS,
    ) + "\n";
    for (row, _, description) in ROWS {
        let pair = |column| match (
            figures.count(row, column, Count::Entries),
            figures.count(row, column, Count::Switches),
        ) {
            (Some(entries), Some(switches)) => format!("{entries}, {switches}"),
            _ => "-".to_owned(),
        };
        let (exokernel, microkernel) = (pair(Column::Exokernel), pair(Column::Microkernel));
        if exokernel != "-" || microkernel != "-" {
            text += &aligned_line(
                &[row, description, &exokernel, &microkernel],
                &COUNTS_COLUMNS,
            );
            text.push('\n');
        }
    }
    text
}

/// The table, in instructions per operation.
pub fn table(figures: &Figures) -> String {
    let mut text = aligned_line(
        &[
            "row",
            "operation",
            "exokernel",
            "microkernel",
            "linux",
            "micro/exo",
            "linux/exo",
        ],
        &TABLE_COLUMNS,
    ) + "\n";
    for (row, _, description) in ROWS {
        let exokernel = figures.get(row, Column::Exokernel);
        let microkernel = figures.get(row, Column::Microkernel);
        let linux = figures.get(row, Column::Linux);
        let cells = [
            row.to_owned(),
            description.to_owned(),
            cell(exokernel),
            cell(microkernel),
            cell(linux),
            ratio(microkernel, exokernel),
            ratio(linux, exokernel),
        ];
        text += &aligned_line(&cells, &TABLE_COLUMNS);
        text.push('\n');
    }
    text
}

/// The bar chart: for each row a bar per column, on a logarithmic scale, each labelled with its
/// value.
pub fn svg(figures: &Figures) -> String {
    let columns = [
        (Column::Exokernel, "exokernel"),
        (Column::Microkernel, "microkernel"),
        (Column::Linux, "Linux"),
    ];
    let groups = ROWS
        .iter()
        .map(|(row, _, description)| Group {
            label: format!("{row} {description}"),
            bars: columns
                .iter()
                .enumerate()
                .filter_map(|(series, (column, _))| {
                    figures.get(row, *column).map(|value| Bar {
                        series,
                        value,
                        label: value.to_string(),
                    })
                })
                .collect(),
        })
        .collect();
    Chart {
        title: "Instructions per operation (log scale), same QEMU machine, -icount shift=0"
            .to_owned(),
        series: columns
            .iter()
            .zip(PALETTE)
            .map(|((_, name), colour)| Series {
                name: (*name).to_owned(),
                colour: colour.to_owned(),
            })
            .collect(),
        panels: vec![Panel {
            heading: "instructions per operation".to_owned(),
            groups,
        }],
    }
    .svg()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: [&str; 8] = [
        "B1 null_syscall 62 instructions",
        "B1.floor syscall_sysret_pair 11 instructions",
        "B2 ipc_round_trip 1069 instructions",
        "B4 cached_read_4k 1500 instructions",
        "B4.micro cached_read_4k 4500 instructions",
        "B4.linux cached_read_4k 1800 instructions",
        "B7.linux fork_wait 150000 instructions",
        "B5.micro something_else 9 instructions",
    ];

    #[test]
    fn figures_land_in_their_columns_and_others_are_ignored() {
        let figures = Figures::read(LINES);
        assert_eq!(figures.get("B1", Column::Exokernel), Some(62));
        assert_eq!(figures.get("B2", Column::Microkernel), Some(1069));
        assert_eq!(figures.get("B4", Column::Linux), Some(1800));
        assert_eq!(figures.get("B5", Column::Microkernel), None);
        assert!(figures.has_linux());
        assert!(!Figures::read(["B1 null_syscall 62 instructions"]).has_linux());
    }

    #[test]
    fn the_table_gives_each_row_its_ratios_and_dashes_for_what_is_missing() {
        let table = table(&Figures::read(LINES));
        let b4 = table.lines().find(|line| line.starts_with("B4")).unwrap();
        assert!(b4.contains("1500") && b4.contains("4500") && b4.contains("1800"));
        assert!(b4.contains("3.00x") && b4.contains("1.20x"), "{b4}");
        let b6 = table.lines().find(|line| line.starts_with("B6")).unwrap();
        assert_eq!(b6.matches(" -").count(), 5, "{b6}");
    }

    #[test]
    fn the_kernels_counts_have_a_table_of_their_own() {
        let figures = Figures::read([
            "B4 cached_read_4k_kernel_entries 2 per_operation",
            "B4 cached_read_4k_switches 0 per_operation",
            "B4.micro cached_read_4k_kernel_entries 5 per_operation",
            "B4.micro cached_read_4k_switches 2 per_operation",
            "B4.micro cached_read_4k_kernel_copied_bytes 0 per_operation",
        ]);
        assert_eq!(
            figures.count("B4", Column::Microkernel, Count::Switches),
            Some(2)
        );
        assert_eq!(figures.get("B4", Column::Exokernel), None);
        let table = counts_table(&figures);
        let b4 = table.lines().find(|line| line.starts_with("B4")).unwrap();
        assert!(b4.ends_with("2, 0                 5, 2"), "{b4}");
        assert_eq!(table.lines().count(), 2, "the header and B4 only");
    }

    #[test]
    fn the_chart_has_a_bar_for_each_figure() {
        let chart = svg(&Figures::read(LINES));
        assert!(chart.starts_with("<svg") && chart.ends_with("</svg>\n"));
        // Seven figures of the rows (B2 fills two columns), and three legend squares.
        assert_eq!(chart.matches("<rect").count(), 7 + 3);
    }
}
