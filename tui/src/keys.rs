//! Key bindings as data. The help screen and the status-bar hints are generated from
//! [`BINDINGS`], so what the console documents is what it does.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks the console to do. Its meaning may depend on the view (see [`Scope`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Leave the console.
    Quit,
    /// Pop the view stack (or close the help).
    Back,
    /// Show or hide the help overlay.
    ToggleHelp,
    /// Back to the overview (the root of the view stack).
    ShowOverview,
    /// Open the topology graph.
    ShowTopology,
    /// Open the newest open incident.
    NewestIncident,
    /// Start typing a filter on entity names (overview).
    StartFilter,
    /// Previous row, or the node above.
    Up,
    /// Next row, or the node below.
    Down,
    /// The node to the left (upstream).
    Left,
    /// The node to the right (downstream).
    Right,
    /// First row.
    First,
    /// Last row.
    Last,
    /// Drill into the selection.
    Enter,
    /// Switch focus between the overview's entity table and incident list.
    SwitchFocus,
    /// Keep the typed filter and stop editing it.
    FilterApply,
    /// Clear the filter and stop editing it.
    FilterCancel,
    /// Delete the filter's last character.
    FilterDelete,
    /// Replay: pause or resume.
    ReplayPause,
    /// Replay: twice as fast.
    ReplayFaster,
    /// Replay: half as fast.
    ReplaySlower,
    /// Replay: one minute back.
    ReplayBack,
    /// Replay: one minute on.
    ReplayForward,
    /// Replay: ten minutes back.
    ReplayBackMore,
    /// Replay: ten minutes on.
    ReplayForwardMore,
}

/// Where a binding applies. View scopes are consulted before [`Scope::Global`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every view.
    Global,
    /// The overview.
    Overview,
    /// The topology graph.
    Topology,
    /// The incident view.
    Incident,
    /// While typing a filter; other printable keys are typed into it.
    Filter,
    /// While replaying a recording (`--replay`), in every view.
    Replay,
}

impl Scope {
    /// All scopes, in help-screen order.
    pub const ALL: [Scope; 6] = [
        Scope::Global,
        Scope::Overview,
        Scope::Topology,
        Scope::Incident,
        Scope::Filter,
        Scope::Replay,
    ];

    /// Section title in the help screen.
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Anywhere",
            Scope::Overview => "Overview",
            Scope::Topology => "Topology",
            Scope::Incident => "Incident",
            Scope::Filter => "Filter (typing after /)",
            Scope::Replay => "Replay (--replay)",
        }
    }
}

/// A key press: a code plus whether Ctrl is held. Shift is ignored for characters, so `?` and
/// `G` match however the terminal reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Whether Ctrl must be held.
    pub ctrl: bool,
}

impl Key {
    const fn new(code: KeyCode) -> Self {
        Key { code, ctrl: false }
    }
    const fn ch(c: char) -> Self {
        Key::new(KeyCode::Char(c))
    }
    const fn ctrl(c: char) -> Self {
        Key {
            code: KeyCode::Char(c),
            ctrl: true,
        }
    }

    /// Whether a key event is this key.
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        match (self.code, ev.code) {
            (KeyCode::Char(a), KeyCode::Char(b)) => a == b && ctrl == self.ctrl,
            (a, b) => a == b && ctrl == self.ctrl,
        }
    }

    /// How the key is written in the help, e.g. `↑`, `k`, `Enter`, `Ctrl-C`.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Up => "↑".to_string(),
            KeyCode::Down => "↓".to_string(),
            KeyCode::Left => "←".to_string(),
            KeyCode::Right => "→".to_string(),
            KeyCode::Enter => "Enter".to_string(),
            KeyCode::Esc => "Esc".to_string(),
            KeyCode::Tab => "Tab".to_string(),
            KeyCode::BackTab => "Shift-Tab".to_string(),
            KeyCode::Backspace => "Backspace".to_string(),
            KeyCode::Home => "Home".to_string(),
            KeyCode::End => "End".to_string(),
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) if self.ctrl => c.to_ascii_uppercase().to_string(),
            KeyCode::Char(c) => c.to_string(),
            other => format!("{other:?}"),
        };
        if self.ctrl {
            format!("Ctrl-{base}")
        } else {
            base
        }
    }
}

/// One row of the key table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// Where it applies.
    pub scope: Scope,
    /// Every key that triggers it; the first is shown in hints.
    pub keys: &'static [Key],
    /// What it does.
    pub action: Action,
    /// What the key does, for the help screen.
    pub help: &'static str,
}

const fn b(scope: Scope, keys: &'static [Key], action: Action, help: &'static str) -> Binding {
    Binding {
        scope,
        keys,
        action,
        help,
    }
}

/// The key table. View scopes come first in lookups, then [`Scope::Global`]. Descriptions stay
/// short (22 characters at most) so the help fits two columns on an 80-column terminal.
#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    b(Scope::Global, &[Key::ch('q'), Key::ctrl('c')], Action::Quit, "quit"),
    b(Scope::Global, &[Key::ch('?')], Action::ToggleHelp, "toggle this help"),
    b(Scope::Global, &[Key::new(KeyCode::Esc)], Action::Back, "back to previous view"),
    b(Scope::Global, &[Key::ch('o')], Action::ShowOverview, "overview"),
    b(Scope::Global, &[Key::ch('t')], Action::ShowTopology, "topology graph"),
    b(Scope::Global, &[Key::ch('i')], Action::NewestIncident, "newest open incident"),
    b(Scope::Overview, &[Key::new(KeyCode::Up), Key::ch('k')], Action::Up, "previous row"),
    b(Scope::Overview, &[Key::new(KeyCode::Down), Key::ch('j')], Action::Down, "next row"),
    b(Scope::Overview, &[Key::new(KeyCode::Home), Key::ch('g')], Action::First, "first row"),
    b(Scope::Overview, &[Key::new(KeyCode::End), Key::ch('G')], Action::Last, "last row"),
    b(Scope::Overview, &[Key::new(KeyCode::Tab)], Action::SwitchFocus, "entities ⇄ incidents"),
    b(Scope::Overview, &[Key::new(KeyCode::Enter)], Action::Enter, "drill into selection"),
    b(Scope::Overview, &[Key::ch('/')], Action::StartFilter, "filter by name"),
    b(Scope::Topology, &[Key::new(KeyCode::Left), Key::ch('h')], Action::Left, "node to the left"),
    b(Scope::Topology, &[Key::new(KeyCode::Right), Key::ch('l')], Action::Right, "node to the right"),
    b(Scope::Topology, &[Key::new(KeyCode::Up), Key::ch('k')], Action::Up, "node above"),
    b(Scope::Topology, &[Key::new(KeyCode::Down), Key::ch('j')], Action::Down, "node below"),
    b(Scope::Topology, &[Key::new(KeyCode::Enter)], Action::Enter, "its open incident"),
    b(Scope::Incident, &[Key::new(KeyCode::Up), Key::ch('k')], Action::Up, "previous cause"),
    b(Scope::Incident, &[Key::new(KeyCode::Down), Key::ch('j')], Action::Down, "next cause"),
    b(Scope::Incident, &[Key::new(KeyCode::Home), Key::ch('g')], Action::First, "top cause"),
    b(Scope::Incident, &[Key::new(KeyCode::End), Key::ch('G')], Action::Last, "last cause"),
    b(Scope::Incident, &[Key::new(KeyCode::Enter)], Action::Enter, "cause in topology"),
    b(Scope::Filter, &[Key::new(KeyCode::Enter)], Action::FilterApply, "keep the filter"),
    b(Scope::Filter, &[Key::new(KeyCode::Esc)], Action::FilterCancel, "clear the filter"),
    b(Scope::Filter, &[Key::new(KeyCode::Backspace)], Action::FilterDelete, "delete a character"),
    b(Scope::Filter, &[Key::ctrl('c')], Action::Quit, "quit"),
    b(Scope::Replay, &[Key::ch(' ')], Action::ReplayPause, "pause / resume"),
    b(Scope::Replay, &[Key::ch('+'), Key::ch('=')], Action::ReplayFaster, "twice as fast"),
    b(Scope::Replay, &[Key::ch('-')], Action::ReplaySlower, "half as fast"),
    b(Scope::Replay, &[Key::ch('[')], Action::ReplayBack, "1 min back"),
    b(Scope::Replay, &[Key::ch(']')], Action::ReplayForward, "1 min on"),
    b(Scope::Replay, &[Key::ch('{')], Action::ReplayBackMore, "10 min back"),
    b(Scope::Replay, &[Key::ch('}')], Action::ReplayForwardMore, "10 min on"),
];

/// The action bound to `ev` in `scope`, or, while replaying, among the replay keys.
pub fn lookup_replaying(scope: Scope, ev: &KeyEvent) -> Option<Action> {
    if scope == Scope::Filter {
        return lookup(scope, ev);
    }
    BINDINGS
        .iter()
        .find(|b| b.scope == Scope::Replay && b.keys.iter().any(|k| k.matches(ev)))
        .map(|b| b.action)
        .or_else(|| lookup(scope, ev))
}

/// The action bound to `ev` in `scope`, falling back to [`Scope::Global`] (except while
/// filtering, where unbound keys are text).
pub fn lookup(scope: Scope, ev: &KeyEvent) -> Option<Action> {
    let find = |s: Scope| {
        BINDINGS
            .iter()
            .find(|b| b.scope == s && b.keys.iter().any(|k| k.matches(ev)))
            .map(|b| b.action)
    };
    match scope {
        Scope::Filter => find(Scope::Filter),
        s => find(s).or_else(|| find(Scope::Global)),
    }
}

/// The bindings of one scope, in table order.
pub fn bindings(scope: Scope) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| b.scope == scope)
}

/// The first key bound to `action` in `scope` (or globally), as written in the help.
pub fn key_for(scope: Scope, action: Action) -> Option<String> {
    bindings(scope)
        .chain(bindings(Scope::Global))
        .find(|b| b.action == action)
        .and_then(|b| b.keys.first())
        .map(Key::label)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventKind;

    fn ev(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new_with_kind(code, modifiers, KeyEventKind::Press)
    }

    #[test]
    fn view_scope_wins_then_global() {
        assert_eq!(
            lookup(Scope::Overview, &ev(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Action::Down)
        );
        assert_eq!(
            lookup(Scope::Topology, &ev(KeyCode::Char('h'), KeyModifiers::NONE)),
            Some(Action::Left)
        );
        assert_eq!(
            lookup(Scope::Incident, &ev(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Action::Quit)
        );
        assert_eq!(
            lookup(
                Scope::Overview,
                &ev(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(Action::Quit)
        );
        assert_eq!(
            lookup(Scope::Overview, &ev(KeyCode::Char('c'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            lookup(
                Scope::Overview,
                &ev(KeyCode::Char('?'), KeyModifiers::SHIFT)
            ),
            Some(Action::ToggleHelp)
        );
        assert_eq!(
            lookup(
                Scope::Overview,
                &ev(KeyCode::Char('G'), KeyModifiers::SHIFT)
            ),
            Some(Action::Last)
        );
    }

    #[test]
    fn filter_scope_does_not_fall_back() {
        assert_eq!(
            lookup(Scope::Filter, &ev(KeyCode::Char('q'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            lookup(Scope::Filter, &ev(KeyCode::Esc, KeyModifiers::NONE)),
            Some(Action::FilterCancel)
        );
    }

    #[test]
    fn no_key_is_bound_twice_in_a_scope() {
        for scope in Scope::ALL {
            let keys: Vec<Key> = bindings(scope)
                .flat_map(|b| b.keys.iter().copied())
                .collect();
            for (i, k) in keys.iter().enumerate() {
                assert!(!keys[i + 1..].contains(k), "{k:?} bound twice in {scope:?}");
            }
        }
    }

    #[test]
    fn descriptions_are_short() {
        for b in BINDINGS {
            assert!(b.help.chars().count() <= 22, "{:?}: {}", b.action, b.help);
        }
    }

    #[test]
    fn labels() {
        assert_eq!(Key::ctrl('c').label(), "Ctrl-C");
        assert_eq!(Key::new(KeyCode::Up).label(), "↑");
        assert_eq!(key_for(Scope::Overview, Action::Quit).as_deref(), Some("q"));
    }
}
