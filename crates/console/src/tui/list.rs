//! A list's cursor: its selection, kept in range, moved by the navigation
//! commands (`Cmd::moved`, the one rule every list follows).

use super::registry::Cmd;

/// A selection within `len` items. A page is what the view last showed;
/// the cursor never points past the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListCursor {
    pub selected: usize,
    len: usize,
}

impl ListCursor {
    /// A new length (items added or removed), keeping the selection in range.
    pub fn set_len(&mut self, len: usize) {
        self.len = len;
        self.selected = self.selected.min(len.saturating_sub(1));
    }

    /// Moves for a navigation action; `false` when `action` is not one.
    pub fn navigate(&mut self, cmd: Cmd, page: usize) -> bool {
        match cmd.moved(self.selected, self.len.saturating_sub(1), page.max(1)) {
            Some(to) => {
                self.selected = to;
                true
            }
            None => false,
        }
    }

    /// The first item to draw so that the selection shows in `height` rows.
    pub fn first_visible(&self, height: usize) -> usize {
        let height = height.max(1);
        (self.selected + 1).saturating_sub(height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Cmd as A;

    fn list_of(len: usize) -> ListCursor {
        let mut list = ListCursor::default();
        list.set_len(len);
        list
    }

    #[test]
    fn navigation_stays_in_range() {
        let mut list = list_of(5);
        assert!(list.navigate(A::Up, 3));
        assert_eq!(list.selected, 0);
        list.navigate(A::PageDown, 3);
        assert_eq!(list.selected, 3);
        list.navigate(A::PageDown, 3);
        assert_eq!(list.selected, 4);
        list.navigate(A::Top, 3);
        assert_eq!(list.selected, 0);
        list.navigate(A::Bottom, 3);
        assert_eq!(list.selected, 4);
        assert!(!list.navigate(A::Quit, 3));
        list.set_len(2);
        assert_eq!(list.selected, 1);
        list.set_len(0);
        assert_eq!(list.selected, 0);
        assert!(list.navigate(A::Down, 1));
        assert_eq!(list.selected, 0);
    }

    #[test]
    fn the_selection_is_always_visible() {
        let mut list = list_of(100);
        assert_eq!(list.first_visible(10), 0);
        list.selected = 9;
        assert_eq!(list.first_visible(10), 0);
        list.selected = 10;
        assert_eq!(list.first_visible(10), 1);
        list.selected = 99;
        assert_eq!(list.first_visible(10), 90);
    }
}
