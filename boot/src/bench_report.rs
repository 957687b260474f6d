//! What `boot bench` shows a person besides its figure lines: an aligned table of the figures
//! and an SVG bar chart of them, one panel per unit (each on its own logarithmic scale), one bar
//! group per row (`B4`: `B4`, `B4.floor`, `B4.micro`), one colour per variant (the ID's suffix).

use crate::chart::{
    Align, Bar, Chart, Group, PALETTE, Panel, Series, aligned_table, with_thousands,
};
use crate::figures::is_figure_line;

/// One figure line, `ID name value unit`, with a whole-number value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figure {
    pub id: String,
    pub name: String,
    pub value: u64,
    pub unit: String,
}

impl Figure {
    /// Reads a figure line; `None` for any other line, or a value that is no whole number.
    pub fn parse(line: &str) -> Option<Figure> {
        if !is_figure_line(line) {
            return None;
        }
        let mut fields = line.split(' ');
        let (id, name, value, unit) = (
            fields.next()?,
            fields.next()?,
            fields.next()?,
            fields.next()?,
        );
        Some(Figure {
            id: id.to_owned(),
            name: name.to_owned(),
            value: value.parse().ok()?,
            unit: unit.to_owned(),
        })
    }

    /// The row the figure belongs to: its ID without the suffix (`B4` for `B4.micro`).
    pub fn row(&self) -> &str {
        self.id.split_once('.').map_or(&self.id, |(row, _)| row)
    }

    /// The ID's suffix (`micro` for `B4.micro`), empty for none.
    pub fn variant(&self) -> &str {
        self.id.split_once('.').map_or("", |(_, variant)| variant)
    }
}

/// The figures of `lines` (other lines skipped), in order.
pub fn parse_figures<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<Figure> {
    lines.into_iter().filter_map(Figure::parse).collect()
}

/// The figures as an aligned table, in their order: ID, name, value (with thousands
/// separators), unit; a blank line between rows.
pub fn table(figures: &[Figure]) -> String {
    let heading = ["id", "name", "value", "unit"].map(str::to_owned).to_vec();
    let rows: Vec<Vec<String>> = std::iter::once(heading)
        .chain(figures.iter().map(|figure| {
            vec![
                figure.id.clone(),
                figure.name.clone(),
                with_thousands(figure.value),
                figure.unit.clone(),
            ]
        }))
        .collect();
    let aligns = [Align::Left, Align::Left, Align::Right, Align::Left];
    let lines = aligned_table(&rows, &aligns);
    let mut text = String::new();
    let mut previous_row = None;
    for (line, figure) in lines
        .lines()
        .zip(std::iter::once(None).chain(figures.iter().map(Some)))
    {
        let row = figure.map(Figure::row);
        if previous_row.is_some() && row != previous_row {
            text.push('\n');
        }
        previous_row = row;
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// The figures as a bar chart titled `title`: a panel per unit in order of first appearance,
/// in each a group per row, a bar per figure labelled with its value, ID and name.
pub fn svg(figures: &[Figure], title: &str) -> String {
    let mut variants: Vec<&str> = Vec::new();
    let mut panels: Vec<Panel> = Vec::new();
    for figure in figures {
        let series = match variants.iter().position(|v| *v == figure.variant()) {
            Some(index) => index,
            None => {
                variants.push(figure.variant());
                variants.len() - 1
            }
        };
        let panel = match panels.iter().position(|p| p.heading == figure.unit) {
            Some(index) => &mut panels[index],
            None => {
                panels.push(Panel {
                    heading: figure.unit.clone(),
                    groups: Vec::new(),
                });
                panels.last_mut().expect("just pushed")
            }
        };
        let group = match panel.groups.iter().position(|g| g.label == figure.row()) {
            Some(index) => &mut panel.groups[index],
            None => {
                panel.groups.push(Group {
                    label: figure.row().to_owned(),
                    bars: Vec::new(),
                });
                panel.groups.last_mut().expect("just pushed")
            }
        };
        group.bars.push(Bar {
            series,
            value: figure.value,
            label: format!(
                "{} {} {}",
                with_thousands(figure.value),
                figure.id,
                figure.name
            ),
        });
    }
    Chart {
        title: title.to_owned(),
        series: variants
            .iter()
            .zip(PALETTE.iter().cycle())
            .map(|(variant, colour)| Series {
                name: if variant.is_empty() {
                    "(no suffix)".to_owned()
                } else {
                    format!(".{variant}")
                },
                colour: (*colour).to_owned(),
            })
            .collect(),
        panels,
    }
    .svg()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines of the README's example output, a comment and a line that is no figure among them.
    const OUTPUT: &str = "\
# deterministic (QEMU -icount shift=0): one TSC tick per guest instruction retired
B1 null_syscall 61 instructions
B1.floor syscall_sysret_pair 11 instructions
B2 ipc_round_trip 384 instructions
B2 ipc_round_trip_kernel_entries 2 per_operation
bench: B8 failed: nothing
B4 cached_read_4k 869 instructions
B4.floor memory_copy_4k 540 instructions
B9.floor raw_sequential_write_rate 2164 MiB/s
B4.micro cached_read_4k 3140 instructions
B6 spawn_wait_true 86230 instructions
C3.sjf short_request_latency_p99 3849 us
B11 boot_to_prompt_debug_bios 9437 ms
";

    #[test]
    fn figures_are_read_with_their_row_and_variant() {
        let figures = parse_figures(OUTPUT.lines());
        assert_eq!(figures.len(), 11);
        let micro = &figures[7];
        assert_eq!(micro.id, "B4.micro");
        assert_eq!((micro.row(), micro.variant()), ("B4", "micro"));
        assert_eq!(micro.value, 3140);
        assert_eq!((figures[0].row(), figures[0].variant()), ("B1", ""));
        assert_eq!(Figure::parse("B1 null_syscall 6.1 instructions"), None);
    }

    #[test]
    fn the_table_aligns_values_and_separates_rows() {
        let table = table(&parse_figures(OUTPUT.lines()));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "id       name                           value unit"
        );
        assert_eq!(
            lines[1],
            "B1       null_syscall                      61 instructions"
        );
        assert_eq!(lines[3], "", "a blank line before B2");
        let spawn = lines.iter().find(|line| line.starts_with("B6")).unwrap();
        assert_eq!(
            *spawn,
            "B6       spawn_wait_true               86,230 instructions"
        );
        let value_ends: Vec<usize> = lines
            .iter()
            .filter(|line| !line.is_empty())
            .map(|line| {
                line.find(" instructions")
                    .or(line.find(" unit"))
                    .unwrap_or(0)
            })
            .filter(|&end| end > 0)
            .collect();
        assert!(
            value_ends.windows(2).all(|pair| pair[0] == pair[1]),
            "{table}"
        );
        assert_eq!(
            lines.iter().filter(|line| line.is_empty()).count(),
            7,
            "{table}"
        );
    }

    #[test]
    fn the_chart_has_a_panel_per_unit_and_a_bar_per_figure() {
        let figures = parse_figures(OUTPUT.lines());
        let svg = svg(&figures, "bench");
        // 11 bars, and a legend square for each variant: none, floor, micro, sjf.
        assert_eq!(svg.matches("<rect").count(), 11 + 4);
        for heading in ["instructions", "per_operation", "MiB/s", "us", "ms"] {
            assert!(
                svg.contains(&format!(">{heading}</text>")),
                "{heading}: {svg}"
            );
        }
        assert!(svg.contains(">86,230 B6 spawn_wait_true</text>"), "{svg}");
        assert!(svg.contains(">.micro</text>") && svg.contains(">(no suffix)</text>"));
        // B4's three bars are one group: its label is drawn once, in the instructions panel.
        assert_eq!(svg.matches(">B4</text>").count(), 1);
    }
}
