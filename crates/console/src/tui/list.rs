//! The state every list keeps: its selection (kept in range), the first
//! item on screen (kept across frames, so the view only moves when the
//! selection leaves it), the page the view last showed, and for the lists
//! that have it, what is typed ahead. Navigation is `Cmd::moved`, the one
//! rule every list follows.

use super::line::LineEditor;
use super::registry::Cmd;

/// How far a page key moves before a view has said how many items show
/// (and in the popup lists whose views do not say).
pub(crate) const DEFAULT_PAGE: usize = 10;

/// The most characters a list's type-ahead takes (an Organization or
/// option name is far shorter).
pub(crate) const PICKER_QUERY_MAX: usize = 100;

/// Lines one turn of the mouse wheel moves.
const WHEEL_STEP: usize = 3;

/// A selection within `len` items, with the scroll offset and page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListCursor {
    pub selected: usize,
    len: usize,
    offset: usize,
    page: usize,
}

impl Default for ListCursor {
    fn default() -> ListCursor {
        ListCursor {
            selected: 0,
            len: 0,
            offset: 0,
            page: DEFAULT_PAGE,
        }
    }
}

impl ListCursor {
    /// A scrolled text opened at line `at`: the view's first draw says how
    /// far it may scroll (`set_text`) and clamps it.
    pub fn at(at: usize) -> ListCursor {
        ListCursor {
            selected: at,
            len: at + 1,
            ..ListCursor::default()
        }
    }

    /// Empty, at the top; the page size stays (a new listing).
    pub fn reset(&mut self) {
        *self = ListCursor {
            page: self.page,
            ..ListCursor::default()
        };
    }

    /// A new length (items added or removed), keeping the selection in range.
    pub fn set_len(&mut self, len: usize) {
        self.len = len;
        self.selected = self.selected.min(len.saturating_sub(1));
    }

    /// Selects `index`, kept in range.
    pub fn select(&mut self, index: usize) {
        self.selected = index.min(self.len.saturating_sub(1));
    }

    /// How far a page key moves: the rows the view last showed.
    #[cfg(test)]
    pub fn page(&self) -> usize {
        self.page
    }

    /// The view showed `page` items: the next page key moves that far, and
    /// the offset follows the selection into them.
    pub fn set_page(&mut self, page: usize) {
        self.page = page.max(1);
        self.offset = self.first_visible(self.page);
    }

    /// A text of `lines` lines in a view `height` lines high: each position
    /// is a first line on screen, the last one showing the text's end.
    pub fn set_text(&mut self, lines: usize, height: usize) {
        self.set_len(lines.saturating_sub(height) + 1);
        self.page = height.max(1);
    }

    /// Moves for a navigation command; `false` when `cmd` is not one.
    pub fn navigate(&mut self, cmd: Cmd) -> bool {
        match cmd.moved(self.selected, self.len.saturating_sub(1), self.page) {
            Some(to) => {
                self.selected = to;
                true
            }
            None => false,
        }
    }

    /// A turn of the mouse wheel.
    pub fn wheel(&mut self, down: bool) {
        let to = if down {
            self.selected.saturating_add(WHEEL_STEP)
        } else {
            self.selected.saturating_sub(WHEEL_STEP)
        };
        self.select(to);
    }

    /// The first item to draw in `height` rows: where the list was, moved
    /// only as far as the selection needs to show, and no further down
    /// than a full last page.
    pub fn first_visible(&self, height: usize) -> usize {
        let height = height.max(1);
        let first = if self.selected < self.offset {
            self.selected
        } else if self.selected >= self.offset + height {
            self.selected + 1 - height
        } else {
            self.offset
        };
        first.min(self.len.saturating_sub(height))
    }

    /// The item drawn on row `row` of the list (clicks), if any.
    pub fn item_at(&self, row: usize) -> Option<usize> {
        let index = self.offset + row;
        (index < self.len).then_some(index)
    }
}

/// A list narrowed by what is typed: the items whose label holds every
/// typed word (`type_ahead`), with the cursor over those listed.
#[derive(Debug, Clone, Default)]
pub struct TypeAheadList {
    pub query: LineEditor,
    /// The indexes of the items listed.
    shown: Vec<usize>,
    pub cursor: ListCursor,
}

impl TypeAheadList {
    /// All of `labels` listed, `selected` (an item's index) highlighted.
    pub fn new<'a>(
        labels: impl Iterator<Item = &'a str>,
        selected: usize,
        query_max: usize,
    ) -> TypeAheadList {
        let mut list = TypeAheadList {
            query: LineEditor::new(query_max),
            shown: Vec::new(),
            cursor: ListCursor::default(),
        };
        list.narrow(labels, Some(selected));
        list
    }

    /// The indexes of the items listed.
    pub fn shown(&self) -> &[usize] {
        &self.shown
    }

    /// The highlighted item's index; `None` when nothing is listed.
    pub fn selected_item(&self) -> Option<usize> {
        self.shown.get(self.cursor.selected).copied()
    }

    /// Lists what matches the query now, keeping the highlight on the
    /// same item where it is still listed, else on the first.
    pub fn narrow<'a>(&mut self, labels: impl Iterator<Item = &'a str>, keep: Option<usize>) {
        let keep = keep.or(self.selected_item());
        self.shown = crate::domain::text::type_ahead(labels, &self.query);
        self.cursor.set_len(self.shown.len());
        let at = keep.and_then(|item| self.shown.iter().position(|&i| i == item));
        self.cursor.select(at.unwrap_or(0));
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
        list.set_page(3);
        assert!(list.navigate(A::Up));
        assert_eq!(list.selected, 0);
        list.navigate(A::PageDown);
        assert_eq!(list.selected, 3);
        list.navigate(A::PageDown);
        assert_eq!(list.selected, 4);
        list.navigate(A::Top);
        assert_eq!(list.selected, 0);
        list.navigate(A::Bottom);
        assert_eq!(list.selected, 4);
        assert!(!list.navigate(A::Quit));
        list.set_len(2);
        assert_eq!(list.selected, 1);
        list.set_len(0);
        assert_eq!(list.selected, 0);
        list.set_page(1);
        assert!(list.navigate(A::Down));
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

    #[test]
    fn the_offset_stays_until_the_selection_leaves_the_page() {
        let mut list = list_of(100);
        list.select(50);
        list.set_page(10);
        assert_eq!(list.first_visible(10), 41);
        // Up inside the page: the rows on screen stay where they are.
        list.navigate(A::Up);
        list.set_page(10);
        assert_eq!(list.first_visible(10), 41);
        assert_eq!(list.item_at(0), Some(41));
        list.select(30);
        assert_eq!(list.first_visible(10), 30);
        list.wheel(true);
        assert_eq!(list.selected, 33);
        list.set_len(35);
        list.set_page(10);
        assert_eq!((list.first_visible(10), list.item_at(9)), (25, Some(34)));
    }

    #[test]
    fn a_scrolled_text_stops_at_its_last_page() {
        let mut text = ListCursor::at(40);
        text.set_text(30, 10);
        assert_eq!((text.selected, text.page()), (20, 10));
        text.navigate(A::PageUp);
        assert_eq!(text.selected, 10);
    }

    #[test]
    fn type_ahead_keeps_the_highlight_on_the_same_item() {
        let labels = ["Alpha", "Beta", "Alphabet"];
        let mut list = TypeAheadList::new(labels.into_iter(), 2, 100);
        assert_eq!(list.selected_item(), Some(2));
        list.query.insert("alp");
        list.narrow(labels.into_iter(), None);
        assert_eq!((list.shown(), list.selected_item()), (&[0, 2][..], Some(2)));
        list.query.insert("x");
        list.narrow(labels.into_iter(), None);
        assert_eq!(list.selected_item(), None);
        list.query.clear();
        list.narrow(labels.into_iter(), None);
        assert_eq!(list.selected_item(), Some(0));
    }
}
