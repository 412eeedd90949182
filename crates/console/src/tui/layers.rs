//! What is open, bottom to top: the accounts table, then each popup,
//! prompt or view over the one it was opened from. Keys go to the top;
//! Esc closes the top and shows what is beneath; the views draw every
//! layer bottom-up, each over the one below.

use super::keymap::Mode;

/// The open layers. The table is always at the bottom and never closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layers(Vec<Mode>);

impl Default for Layers {
    fn default() -> Layers {
        Layers(vec![Mode::Table])
    }
}

impl Layers {
    /// The layer in front: the one keys go to.
    pub fn top(&self) -> Mode {
        self.0.last().copied().unwrap_or(Mode::Table)
    }

    /// The layer under the top one (the table when only it is open).
    pub fn beneath_top(&self) -> Mode {
        let below = self.0.len().saturating_sub(2);
        self.0.get(below).copied().unwrap_or(Mode::Table)
    }

    /// Every layer, the table first.
    pub fn bottom_up(&self) -> impl Iterator<Item = Mode> + '_ {
        self.0.iter().copied()
    }

    /// Opens `mode` over what is in front.
    pub fn push(&mut self, mode: Mode) {
        if mode != Mode::Table {
            self.0.push(mode);
        }
    }

    /// Closes the layer in front (the table stays).
    pub fn pop(&mut self) {
        if self.0.len() > 1 {
            self.0.pop();
        }
    }

    /// The layer in front becomes `mode` (a step of one flow: the
    /// preflight turns into the run).
    pub fn replace_top(&mut self, mode: Mode) {
        self.pop();
        self.push(mode);
    }

    /// Turns `from` into `to` wherever it is open, so a popup the worker
    /// ended under help is the next step's when help closes.
    pub fn replace(&mut self, from: Mode, to: Mode) {
        for layer in self.0.iter_mut().skip(1) {
            if *layer == from {
                *layer = to;
            }
        }
    }

    /// Closes `mode` wherever it is open; what was over it stays.
    pub fn remove(&mut self, mode: Mode) {
        let table = self.0.first().copied();
        self.0.retain(|layer| *layer != mode);
        if self.0.is_empty() {
            self.0.extend(table);
        }
    }

    /// Closes everything over the table.
    pub fn close_all(&mut self) {
        self.0.truncate(1);
    }

    /// Closes everything over the table and opens `mode` there: what a
    /// worker's answer opens replaces whatever the user had in front.
    pub fn over_table(&mut self, mode: Mode) {
        self.close_all();
        self.push(mode);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_stays_at_the_bottom() {
        let mut layers = Layers::default();
        layers.pop();
        layers.remove(Mode::Table);
        layers.push(Mode::Table);
        assert_eq!(layers.bottom_up().collect::<Vec<_>>(), [Mode::Table]);
        assert_eq!(
            (layers.top(), layers.beneath_top()),
            (Mode::Table, Mode::Table)
        );
    }

    #[test]
    fn esc_closes_one_level_and_workers_change_a_layer_in_place() {
        let mut layers = Layers::default();
        layers.push(Mode::Form);
        layers.push(Mode::Pick);
        layers.push(Mode::Help);
        assert_eq!(layers.beneath_top(), Mode::Pick);
        layers.pop();
        assert_eq!(layers.top(), Mode::Pick);
        layers.push(Mode::Help);
        layers.remove(Mode::Form);
        assert_eq!(
            layers.bottom_up().collect::<Vec<_>>(),
            [Mode::Table, Mode::Pick, Mode::Help]
        );
        layers.replace(Mode::Pick, Mode::Confirm);
        layers.pop();
        assert_eq!(layers.top(), Mode::Confirm);
        layers.over_table(Mode::Token);
        assert_eq!(
            layers.bottom_up().collect::<Vec<_>>(),
            [Mode::Table, Mode::Token]
        );
    }
}
