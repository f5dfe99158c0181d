//! The console's state and its transitions (the Elm "model" and "update").
//!
//! [`App::update`] takes a [`Msg`] (a key, a resize, a new snapshot) and changes the state; it
//! never touches a terminal, so every transition is unit-testable. Selections are kept by
//! identity (entity id, incident id), so they survive new snapshots that reorder or drop rows.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use opscope_model::{EntityHealth, Incident, IncidentStatus, Snapshot};
use opscope_model::{EntityId, EntityKind};

use crate::graph::{self, Dir, GraphLayout};
use crate::keys::{self, Action, Scope};
use crate::replay::{ReplayCommand, ReplayStatus};

/// Deepest view stack kept; older entries above the root are dropped.
const MAX_STACK: usize = 16;

/// An input to [`App::update`].
#[derive(Debug, Clone)]
pub enum Msg {
    /// A key press (releases are ignored).
    Key(KeyEvent),
    /// The terminal was resized; the next frame is laid out for the new size.
    Resize {
        /// Columns.
        width: u16,
        /// Rows.
        height: u16,
    },
    /// The engine published a new snapshot.
    Snapshot(Arc<Snapshot>),
    /// The engine's channel closed; the last snapshot stays on screen.
    EngineStopped,
}

impl Msg {
    /// A plain key press, for tests and scripted input.
    pub fn key(code: KeyCode) -> Msg {
        Msg::Key(KeyEvent::new_with_kind(
            code,
            KeyModifiers::NONE,
            KeyEventKind::Press,
        ))
    }
    /// A character key press.
    pub fn char(c: char) -> Msg {
        Msg::key(KeyCode::Char(c))
    }
}

/// A screen of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Entities, incidents and sources (the root).
    Overview,
    /// The call graph with a details pane.
    Topology,
    /// The incident with this id.
    Incident(u64),
}

impl View {
    fn scope(self) -> Scope {
        match self {
            View::Overview => Scope::Overview,
            View::Topology => Scope::Topology,
            View::Incident(_) => Scope::Incident,
        }
    }
}

/// Which list of the overview takes the arrow keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    /// The entity table.
    #[default]
    Entities,
    /// The incident list.
    Incidents,
}

/// The console's state.
#[derive(Debug, Clone)]
pub struct App {
    pub(crate) title: String,
    pub(crate) snapshot: Arc<Snapshot>,
    stack: Vec<View>,
    pub(crate) focus: Focus,
    selected_entity: Option<EntityId>,
    selected_incident: Option<u64>,
    pub(crate) filter: String,
    pub(crate) filter_editing: bool,
    topo_selected: Option<EntityId>,
    pub(crate) cause_selected: usize,
    pub(crate) help: bool,
    pub(crate) notice: Option<String>,
    pub(crate) engine_stopped: bool,
    pub(crate) size: Option<(u16, u16)>,
    quit: bool,
    pub(crate) graph: GraphLayout,
    /// Where the replay stands, when replaying a recording.
    pub(crate) replay: Option<ReplayStatus>,
    /// Replay commands not yet sent.
    replay_out: Vec<ReplayCommand>,
}

impl App {
    /// A console showing `snapshot`, on the overview.
    pub fn new(title: impl Into<String>, snapshot: Arc<Snapshot>) -> App {
        let graph = graph::layout(&all_entities(&snapshot), &snapshot.topology.edges);
        App {
            title: title.into(),
            snapshot,
            stack: vec![View::Overview],
            focus: Focus::Entities,
            selected_entity: None,
            selected_incident: None,
            filter: String::new(),
            filter_editing: false,
            topo_selected: None,
            cause_selected: 0,
            help: false,
            notice: None,
            engine_stopped: false,
            size: None,
            quit: false,
            graph,
            replay: None,
            replay_out: Vec::new(),
        }
    }

    /// Replaying a recording: show its position and take the replay keys.
    pub fn set_replay(&mut self, status: ReplayStatus) {
        self.replay = Some(status);
    }

    /// Replay commands asked for since the last call, oldest first.
    pub fn take_replay_commands(&mut self) -> Vec<ReplayCommand> {
        std::mem::take(&mut self.replay_out)
    }

    fn replay_command(&mut self, c: ReplayCommand) {
        if self.replay.is_some() {
            self.replay_out.push(c);
        }
    }

    /// The view on screen.
    pub fn view(&self) -> View {
        *self.stack.last().unwrap_or(&View::Overview)
    }

    /// The view stack, root first.
    pub fn stack(&self) -> &[View] {
        &self.stack
    }

    /// Which overview list takes the arrow keys.
    pub fn focus(&self) -> Focus {
        self.focus
    }

    /// True once the user asked to quit.
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// True while the help overlay is shown.
    pub fn help_visible(&self) -> bool {
        self.help
    }

    /// The snapshot on screen.
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snapshot
    }

    /// The entity filter (case-insensitive substring of names); empty for none.
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// The entity selected in the overview table.
    pub fn selected_entity(&self) -> Option<&EntityId> {
        let rows = self.overview_entities();
        self.entity_index(&rows).map(|i| &rows[i].entity)
    }

    /// The incident selected in the overview's incident list.
    pub fn selected_incident(&self) -> Option<u64> {
        let list = self.listed_incidents();
        self.incident_index(&list).map(|i| list[i].id)
    }

    /// The node selected in the topology view.
    pub fn topology_selection(&self) -> Option<&EntityId> {
        self.topology_index().map(|i| &self.graph.nodes[i].entity)
    }

    /// Index of the selected cause in the incident view.
    pub fn selected_cause(&self) -> usize {
        self.cause_selected
    }

    /// Apply one input.
    pub fn update(&mut self, msg: Msg) {
        match msg {
            Msg::Key(key) => self.on_key(key),
            Msg::Resize { width, height } => self.size = Some((width, height)),
            Msg::Snapshot(snapshot) => {
                if snapshot.topology != self.snapshot.topology
                    || snapshot.entities.len() != self.snapshot.entities.len()
                {
                    self.graph = graph::layout(&all_entities(&snapshot), &snapshot.topology.edges);
                }
                self.snapshot = snapshot;
                self.engine_stopped = false;
                if let View::Incident(id) = self.view() {
                    let n = self.incident(id).map_or(0, |i| i.causes.len());
                    self.cause_selected = self.cause_selected.min(n.saturating_sub(1));
                }
            }
            Msg::EngineStopped => self.engine_stopped = true,
        }
    }

    fn on_key(&mut self, key: KeyEvent) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        self.notice = None;
        if self.filter_editing {
            match keys::lookup(Scope::Filter, &key) {
                Some(Action::FilterApply) => self.filter_editing = false,
                Some(Action::FilterCancel) => {
                    self.filter.clear();
                    self.filter_editing = false;
                }
                Some(Action::FilterDelete) => {
                    self.filter.pop();
                }
                Some(Action::Quit) => self.quit = true,
                _ => {
                    if let KeyCode::Char(c) = key.code
                        && !key
                            .modifiers
                            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                    {
                        self.filter.push(c);
                    }
                }
            }
            return;
        }
        let found = if self.replay.is_some() {
            keys::lookup_replaying(self.view().scope(), &key)
        } else {
            keys::lookup(self.view().scope(), &key)
        };
        let Some(action) = found else {
            return;
        };
        if self.help {
            match action {
                Action::Quit => self.quit = true,
                Action::ToggleHelp | Action::Back => self.help = false,
                _ => {}
            }
            return;
        }
        self.apply(action);
    }

    fn apply(&mut self, action: Action) {
        match action {
            Action::Quit => self.quit = true,
            Action::ToggleHelp => self.help = !self.help,
            Action::Back => {
                if self.stack.len() > 1 {
                    self.stack.pop();
                }
            }
            Action::ShowOverview => self.stack.truncate(1),
            Action::ShowTopology => {
                let focus = match self.view() {
                    View::Overview if self.focus == Focus::Entities => {
                        self.selected_entity().cloned()
                    }
                    View::Incident(id) => self
                        .incident(id)
                        .and_then(|i| i.causes.get(self.cause_selected))
                        .map(|c| c.entity.clone()),
                    _ => None,
                };
                if let Some(id) = focus.filter(|id| self.graph.index_of(id).is_some()) {
                    self.topo_selected = Some(id);
                }
                self.push(View::Topology);
            }
            Action::NewestIncident => {
                let newest = self
                    .snapshot
                    .open_incidents()
                    .max_by_key(|i| (i.first_seen_ms, i.id))
                    .map(|i| i.id);
                match newest {
                    Some(id) => self.open_incident(id),
                    None => self.notice = Some("no open incidents".into()),
                }
            }
            Action::StartFilter => {
                self.filter_editing = true;
                self.focus = Focus::Entities;
            }
            Action::SwitchFocus => {
                self.focus = match self.focus {
                    Focus::Entities => Focus::Incidents,
                    Focus::Incidents => Focus::Entities,
                }
            }
            Action::Up
            | Action::Down
            | Action::First
            | Action::Last
            | Action::Left
            | Action::Right => self.move_selection(action),
            Action::Enter => self.enter(),
            Action::FilterApply | Action::FilterCancel | Action::FilterDelete => {}
            Action::ReplayPause => self.replay_command(ReplayCommand::TogglePause),
            Action::ReplayFaster => self.replay_command(ReplayCommand::Speed(2.0)),
            Action::ReplaySlower => self.replay_command(ReplayCommand::Speed(0.5)),
            Action::ReplayBack => self.replay_command(ReplayCommand::Seek(-60_000)),
            Action::ReplayForward => self.replay_command(ReplayCommand::Seek(60_000)),
            Action::ReplayBackMore => self.replay_command(ReplayCommand::Seek(-600_000)),
            Action::ReplayForwardMore => self.replay_command(ReplayCommand::Seek(600_000)),
        }
    }

    fn push(&mut self, view: View) {
        if self.view() != view {
            self.stack.push(view);
            if self.stack.len() > MAX_STACK {
                self.stack.remove(1);
            }
        }
    }

    fn open_incident(&mut self, id: u64) {
        if self.view() != View::Incident(id) {
            self.cause_selected = 0;
        }
        self.push(View::Incident(id));
    }

    fn move_selection(&mut self, action: Action) {
        match self.view() {
            View::Overview => match self.focus {
                Focus::Entities => {
                    let rows = self.overview_entities();
                    let next = step(self.entity_index(&rows), rows.len(), action);
                    let id = next.map(|i| rows[i].entity.clone());
                    if id.is_some() {
                        self.selected_entity = id;
                    }
                }
                Focus::Incidents => {
                    let list = self.listed_incidents();
                    let next = step(self.incident_index(&list), list.len(), action);
                    if let Some(i) = next {
                        self.selected_incident = Some(list[i].id);
                    }
                }
            },
            View::Topology => {
                let dir = match action {
                    Action::Up => Dir::Up,
                    Action::Down => Dir::Down,
                    Action::Left => Dir::Left,
                    Action::Right => Dir::Right,
                    _ => return,
                };
                if let Some(cur) = self.topology_index()
                    && let Some(next) = self.graph.neighbour(cur, dir)
                {
                    self.topo_selected = Some(self.graph.nodes[next].entity.clone());
                }
            }
            View::Incident(id) => {
                let n = self.incident(id).map_or(0, |i| i.causes.len());
                if let Some(i) = step(Some(self.cause_selected), n, action) {
                    self.cause_selected = i;
                }
            }
        }
    }

    fn enter(&mut self) {
        match self.view() {
            View::Overview => match self.focus {
                Focus::Entities => {
                    let Some(id) = self.selected_entity().cloned() else {
                        return;
                    };
                    if self.graph.index_of(&id).is_some() {
                        self.topo_selected = Some(id);
                        self.push(View::Topology);
                    } else {
                        self.notice = Some(format!("{id} is not in the topology graph"));
                    }
                }
                Focus::Incidents => {
                    if let Some(id) = self.selected_incident() {
                        self.open_incident(id);
                    }
                }
            },
            View::Topology => {
                let Some(id) = self.topology_selection().cloned() else {
                    return;
                };
                let hit = self
                    .snapshot
                    .open_incidents()
                    .filter(|i| involves(i, &id))
                    .max_by_key(|i| (i.first_seen_ms, i.id))
                    .map(|i| i.id);
                match hit {
                    Some(inc) => self.open_incident(inc),
                    None => self.notice = Some(format!("no open incident involves {}", id.name)),
                }
            }
            View::Incident(inc) => {
                let entity = self
                    .incident(inc)
                    .and_then(|i| i.causes.get(self.cause_selected))
                    .map(|c| c.entity.clone());
                if let Some(entity) = entity {
                    if self.graph.index_of(&entity).is_some() {
                        self.topo_selected = Some(entity);
                        self.push(View::Topology);
                    } else {
                        self.notice = Some(format!("{entity} is not in the topology graph"));
                    }
                }
            }
        }
    }

    /// Entities of the overview table: workloads, then topics and queues, then nodes (pods
    /// last), each by namespace and name, filtered by name.
    pub(crate) fn overview_entities(&self) -> Vec<&EntityHealth> {
        let needle = self.filter.to_lowercase();
        let mut rows: Vec<&EntityHealth> = self
            .snapshot
            .entities
            .iter()
            .filter(|e| needle.is_empty() || e.entity.name.to_lowercase().contains(&needle))
            .collect();
        rows.sort_by(|a, b| {
            (
                kind_rank(a.entity.kind),
                &a.entity.namespace,
                &a.entity.name,
            )
                .cmp(&(
                    kind_rank(b.entity.kind),
                    &b.entity.namespace,
                    &b.entity.name,
                ))
        });
        rows
    }

    /// Incidents of the overview list: open ones first (newest first), then resolved ones.
    pub(crate) fn listed_incidents(&self) -> Vec<&Incident> {
        let mut list: Vec<&Incident> = self.snapshot.incidents.iter().collect();
        list.sort_by_key(|i| {
            (
                i.status != IncidentStatus::Open,
                std::cmp::Reverse((i.first_seen_ms, i.id)),
            )
        });
        list
    }

    pub(crate) fn entity_index(&self, rows: &[&EntityHealth]) -> Option<usize> {
        if rows.is_empty() {
            return None;
        }
        let found = self
            .selected_entity
            .as_ref()
            .and_then(|id| rows.iter().position(|e| &e.entity == id));
        Some(found.unwrap_or(0))
    }

    pub(crate) fn incident_index(&self, list: &[&Incident]) -> Option<usize> {
        if list.is_empty() {
            return None;
        }
        let found = self
            .selected_incident
            .and_then(|id| list.iter().position(|i| i.id == id));
        Some(found.unwrap_or(0))
    }

    pub(crate) fn topology_index(&self) -> Option<usize> {
        self.topo_selected
            .as_ref()
            .and_then(|id| self.graph.index_of(id))
            .or_else(|| self.graph.first_node())
    }

    pub(crate) fn incident(&self, id: u64) -> Option<&Incident> {
        self.snapshot.incidents.iter().find(|i| i.id == id)
    }

    /// The scope whose keys are live (for hints).
    pub(crate) fn scope(&self) -> Scope {
        if self.filter_editing {
            Scope::Filter
        } else {
            self.view().scope()
        }
    }
}

/// Every entity the snapshot knows, from the topology and the health list.
fn all_entities(s: &Snapshot) -> Vec<EntityId> {
    graph::snapshot_entities(s)
}

fn kind_rank(k: EntityKind) -> u8 {
    match k {
        EntityKind::Workload => 0,
        EntityKind::Topic => 1,
        EntityKind::Queue => 2,
        EntityKind::ConsumerGroup => 3,
        EntityKind::Broker => 4,
        EntityKind::Datastore => 5,
        EntityKind::Node => 6,
        EntityKind::Pod => 7,
    }
}

/// True when the incident has an anomaly or a cause on `id`.
pub(crate) fn involves(i: &Incident, id: &EntityId) -> bool {
    i.anomalies.iter().any(|a| &a.signal.entity == id) || i.causes.iter().any(|c| &c.entity == id)
}

/// The new index of a list selection after a move.
fn step(cur: Option<usize>, len: usize, action: Action) -> Option<usize> {
    if len == 0 {
        return None;
    }
    let cur = cur.unwrap_or(0).min(len - 1);
    Some(match action {
        Action::Up => cur.saturating_sub(1),
        Action::Down => (cur + 1).min(len - 1),
        Action::First => 0,
        Action::Last => len - 1,
        _ => cur,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    fn app() -> App {
        App::new("opscope test", Arc::new(fixture::snapshot()))
    }

    fn press(app: &mut App, keys: &str) {
        for c in keys.chars() {
            app.update(Msg::char(c));
        }
    }

    #[test]
    fn starts_on_overview_with_first_workload_selected() {
        let a = app();
        assert_eq!(a.view(), View::Overview);
        assert_eq!(a.stack(), &[View::Overview]);
        assert_eq!(
            a.selected_entity().unwrap().name,
            "istio-ingressgateway",
            "istio-system sorts first"
        );
        assert!(!a.should_quit());
    }

    #[test]
    fn quits_on_q_and_ctrl_c() {
        let mut a = app();
        press(&mut a, "q");
        assert!(a.should_quit());
        let mut a = app();
        a.update(Msg::Key(KeyEvent::new(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL,
        )));
        assert!(a.should_quit());
    }

    #[test]
    fn key_releases_are_ignored() {
        let mut a = app();
        a.update(Msg::Key(KeyEvent::new_with_kind(
            KeyCode::Char('q'),
            KeyModifiers::NONE,
            KeyEventKind::Release,
        )));
        assert!(!a.should_quit());
    }

    #[test]
    fn esc_pops_and_does_nothing_at_root() {
        let mut a = app();
        a.update(Msg::key(KeyCode::Esc));
        assert_eq!(a.stack(), &[View::Overview]);
        press(&mut a, "t");
        press(&mut a, "i");
        assert_eq!(
            a.stack(),
            &[View::Overview, View::Topology, View::Incident(3)]
        );
        a.update(Msg::key(KeyCode::Esc));
        assert_eq!(a.view(), View::Topology);
        a.update(Msg::key(KeyCode::Esc));
        a.update(Msg::key(KeyCode::Esc));
        assert_eq!(a.stack(), &[View::Overview]);
    }

    #[test]
    fn o_returns_to_root_and_t_does_not_stack_twice() {
        let mut a = app();
        press(&mut a, "tti");
        assert_eq!(a.stack().len(), 3);
        press(&mut a, "o");
        assert_eq!(a.stack(), &[View::Overview]);
    }

    #[test]
    fn stack_depth_is_bounded() {
        let mut a = app();
        for _ in 0..50 {
            press(&mut a, "ti");
        }
        assert!(a.stack().len() <= MAX_STACK);
        assert_eq!(a.stack()[0], View::Overview);
    }

    #[test]
    fn moving_in_the_entity_table() {
        let mut a = app();
        press(&mut a, "jjj");
        assert_eq!(a.selected_entity().unwrap().name, "checkoutservice");
        a.update(Msg::key(KeyCode::Up));
        assert_eq!(a.selected_entity().unwrap().name, "cartservice");
        press(&mut a, "kkkkk");
        assert_eq!(a.selected_entity().unwrap().name, "istio-ingressgateway");
        press(&mut a, "G");
        assert_eq!(a.selected_entity().unwrap().kind, EntityKind::Node);
        press(&mut a, "g");
        assert_eq!(a.selected_entity().unwrap().name, "istio-ingressgateway");
    }

    #[test]
    fn tab_switches_focus_and_enter_opens_the_incident() {
        let mut a = app();
        a.update(Msg::key(KeyCode::Tab));
        assert_eq!(a.focus, Focus::Incidents);
        assert_eq!(a.selected_incident(), Some(3));
        press(&mut a, "j");
        assert_eq!(
            a.selected_incident(),
            Some(2),
            "resolved incidents follow open ones"
        );
        press(&mut a, "k");
        a.update(Msg::key(KeyCode::Enter));
        assert_eq!(a.view(), View::Incident(3));
        assert_eq!(a.selected_cause(), 0);
    }

    #[test]
    fn enter_on_an_entity_opens_the_topology_on_it() {
        let mut a = app();
        press(&mut a, "/payment");
        a.update(Msg::key(KeyCode::Enter));
        assert_eq!(a.filter(), "payment");
        a.update(Msg::key(KeyCode::Enter));
        assert_eq!(a.view(), View::Topology);
        assert_eq!(a.topology_selection().unwrap().name, "paymentservice");
    }

    #[test]
    fn filter_typing_and_cancel() {
        let mut a = app();
        press(&mut a, "/cart");
        assert!(a.filter_editing);
        // Typed keys are text, not commands.
        assert_eq!(a.view(), View::Overview);
        assert!(!a.should_quit());
        assert_eq!(a.filter(), "cart");
        let names: Vec<&str> = a
            .overview_entities()
            .iter()
            .map(|e| e.entity.name.as_str())
            .collect();
        assert_eq!(names, ["cartservice", "redis-cart"]);
        a.update(Msg::key(KeyCode::Backspace));
        assert_eq!(a.filter(), "car");
        a.update(Msg::key(KeyCode::Esc));
        assert!(!a.filter_editing);
        assert_eq!(a.filter(), "");
        assert_eq!(a.view(), View::Overview);
    }

    #[test]
    fn filter_q_is_text_but_ctrl_c_quits() {
        let mut a = app();
        press(&mut a, "/q");
        assert!(!a.should_quit());
        a.update(Msg::Key(KeyEvent::new(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL,
        )));
        assert!(a.should_quit());
    }

    #[test]
    fn help_toggles_and_swallows_keys() {
        let mut a = app();
        press(&mut a, "?");
        assert!(a.help_visible());
        press(&mut a, "tj");
        assert_eq!(
            a.view(),
            View::Overview,
            "keys other than close/quit are ignored under help"
        );
        a.update(Msg::key(KeyCode::Esc));
        assert!(!a.help_visible());
        press(&mut a, "??");
        assert!(!a.help_visible());
    }

    #[test]
    fn i_opens_newest_open_incident_or_says_none() {
        let mut a = app();
        press(&mut a, "i");
        assert_eq!(a.view(), View::Incident(3));
        let mut quiet = fixture::snapshot();
        quiet.incidents.retain(|i| i.status != IncidentStatus::Open);
        let mut a = App::new("t", Arc::new(quiet));
        press(&mut a, "i");
        assert_eq!(a.view(), View::Overview);
        assert_eq!(a.notice.as_deref(), Some("no open incidents"));
        press(&mut a, "j");
        assert_eq!(a.notice, None, "notices clear on the next key");
    }

    #[test]
    fn causes_move_and_clamp() {
        let mut a = app();
        press(&mut a, "i");
        press(&mut a, "jjjjj");
        assert_eq!(a.selected_cause(), 2);
        press(&mut a, "k");
        assert_eq!(a.selected_cause(), 1);
        // A new snapshot with fewer causes clamps the selection.
        let mut s = fixture::snapshot();
        s.incidents[0].causes.truncate(1);
        a.update(Msg::Snapshot(Arc::new(s)));
        assert_eq!(a.selected_cause(), 0);
    }

    #[test]
    fn enter_on_a_cause_shows_it_in_the_topology_and_back() {
        let mut a = app();
        press(&mut a, "ij");
        a.update(Msg::key(KeyCode::Enter));
        assert_eq!(a.view(), View::Topology);
        assert_eq!(a.topology_selection().unwrap().name, "checkoutservice");
        a.update(Msg::key(KeyCode::Enter));
        assert_eq!(
            a.view(),
            View::Incident(3),
            "enter on an involved node opens its incident"
        );
        a.update(Msg::key(KeyCode::Esc));
        a.update(Msg::key(KeyCode::Esc));
        assert_eq!(a.view(), View::Incident(3));
    }

    #[test]
    fn topology_navigation_follows_the_graph() {
        let mut a = app();
        press(&mut a, "jt");
        assert_eq!(
            a.topology_selection().unwrap().name,
            "adservice",
            "t keeps the overview selection"
        );
        press(&mut a, "h");
        assert_eq!(a.topology_selection().unwrap().name, "frontend");
        press(&mut a, "h");
        assert_eq!(a.topology_selection().unwrap().name, "istio-ingressgateway");
        press(&mut a, "h");
        assert_eq!(
            a.topology_selection().unwrap().name,
            "istio-ingressgateway",
            "nothing left of the gateway"
        );
        press(&mut a, "ll");
        let third = a.topology_selection().unwrap().clone();
        assert_eq!(
            a.graph.nodes[a.graph.index_of(&third).unwrap()].layer,
            Some(2)
        );
        for _ in 0..20 {
            press(&mut a, "j");
        }
        assert_eq!(
            a.topology_selection().unwrap().kind,
            EntityKind::Node,
            "down from the bottom reaches the node row"
        );
        press(&mut a, "l");
        assert_eq!(a.topology_selection().unwrap().kind, EntityKind::Node);
        press(&mut a, "k");
        assert_ne!(a.topology_selection().unwrap().kind, EntityKind::Node);
    }

    #[test]
    fn enter_in_topology_without_incident_sets_notice() {
        let mut a = app();
        press(&mut a, "jt");
        a.update(Msg::key(KeyCode::Enter));
        assert_eq!(a.view(), View::Topology);
        assert!(a.notice.as_deref().unwrap().contains("adservice"));
    }

    #[test]
    fn selection_survives_snapshot_updates() {
        let mut a = app();
        press(&mut a, "jjj");
        let before = a.selected_entity().cloned();
        let mut s = fixture::snapshot();
        s.cycle += 1;
        s.entities.reverse();
        a.update(Msg::Snapshot(Arc::new(s)));
        assert_eq!(a.selected_entity().cloned(), before);
    }

    #[test]
    fn empty_snapshot_is_harmless() {
        let mut a = App::new("t", Arc::new(Snapshot::default()));
        for c in "jkhlgG\t/x".chars() {
            a.update(Msg::char(c));
        }
        a.update(Msg::key(KeyCode::Enter));
        a.update(Msg::key(KeyCode::Esc));
        press(&mut a, "tjkhli");
        a.update(Msg::key(KeyCode::Enter));
        assert_eq!(a.selected_entity(), None);
        assert_eq!(a.topology_selection(), None);
    }

    #[test]
    fn engine_stopped_is_remembered_until_next_snapshot() {
        let mut a = app();
        a.update(Msg::EngineStopped);
        assert!(a.engine_stopped);
        a.update(Msg::Resize {
            width: 80,
            height: 24,
        });
        assert_eq!(a.size, Some((80, 24)));
        a.update(Msg::Snapshot(Arc::new(fixture::snapshot())));
        assert!(!a.engine_stopped);
    }
}
