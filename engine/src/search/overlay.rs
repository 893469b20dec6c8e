//! The resolution overlay: events are immutable, so resolving one appends an
//! `audit.resolution` event naming it (`record_id` = the target's id); reads show the
//! latest resolution of each event on top of it. The state is rebuilt from the log (via
//! the index) at open and kept current by the indexer; queries add the resolutions
//! after the last commit (the pending set's, and the rest of the tail's).

use std::collections::HashMap;

use super::fields::{string, IndexedFields};
use crate::event::Overlay;
use crate::log::{Engine, EventRef};
use crate::types::{Lsn, TenantId};

/// The latest resolution of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The resolution event's LSN (a later one replaces an earlier one).
    pub by_lsn: Lsn,
    /// Its `created_at`.
    pub resolved_at_us: i64,
    /// Who resolved it.
    pub resolved_by: String,
    /// Notes, if any.
    pub resolution_notes: Option<String>,
}

impl Resolution {
    /// The overlay as reads splice it into the returned event.
    pub fn overlay(&self) -> Overlay {
        Overlay {
            resolved_at_us: self.resolved_at_us,
            resolved_by: self.resolved_by.clone(),
            resolution_notes: self.resolution_notes.clone(),
        }
    }
}

/// Resolutions by tenant, then by the resolved event's LSN.
#[derive(Debug, Clone, Default)]
pub struct Resolutions {
    by_target: HashMap<TenantId, HashMap<Lsn, Resolution>>,
}

impl Resolutions {
    /// Applies one resolution event (found at `ev`), if it names an existing event of the
    /// same tenant; a later resolution replaces an earlier one.
    pub fn apply(&mut self, engine: &Engine, ev: &EventRef<'_>, fields: &IndexedFields<'_>) {
        let Some((target, resolution)) = parse(engine, ev, fields) else {
            return;
        };
        let Ok(tenant) = TenantId::new(ev.tenant) else {
            return;
        };
        let slot = self.by_target.entry(tenant).or_default().entry(target);
        match slot {
            std::collections::hash_map::Entry::Occupied(mut o)
                if o.get().by_lsn < resolution.by_lsn =>
            {
                o.insert(resolution);
            }
            std::collections::hash_map::Entry::Occupied(_) => {}
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(resolution);
            }
        }
    }

    /// A copy holding only `tenant`'s resolutions.
    pub fn only(&self, tenant: &TenantId) -> Resolutions {
        let mut copy = Resolutions::default();
        if let Some(of_tenant) = self.by_target.get(tenant) {
            copy.by_target.insert(tenant.clone(), of_tenant.clone());
        }
        copy
    }

    /// The resolution of the tenant's event at `lsn`.
    pub fn get(&self, tenant: &TenantId, lsn: Lsn) -> Option<&Resolution> {
        self.by_target.get(tenant)?.get(&lsn)
    }

    /// The LSNs of the tenant's resolved events.
    pub fn resolved(&self, tenant: &TenantId) -> impl Iterator<Item = Lsn> + '_ {
        self.by_target
            .get(tenant)
            .into_iter()
            .flat_map(|m| m.keys().copied())
    }

    /// Every resolution of the tenant's events, by the resolved event's LSN.
    pub fn of_tenant(&self, tenant: &TenantId) -> impl Iterator<Item = (Lsn, &Resolution)> + '_ {
        self.by_target
            .get(tenant)
            .into_iter()
            .flat_map(|m| m.iter().map(|(l, r)| (*l, r)))
    }

    /// Whether the tenant's event at `lsn` is resolved.
    pub fn is_resolved(&self, tenant: &TenantId, lsn: Lsn) -> bool {
        self.get(tenant, lsn).is_some()
    }

    /// Number of resolved events over all tenants.
    pub fn len(&self) -> usize {
        self.by_target.values().map(HashMap::len).sum()
    }

    /// Whether nothing is resolved.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The target LSN and the resolution an `audit.resolution` event states.
fn parse(
    engine: &Engine,
    ev: &EventRef<'_>,
    fields: &IndexedFields<'_>,
) -> Option<(Lsn, Resolution)> {
    if !fields.is_resolution() {
        return None;
    }
    let target_id = uuid::Uuid::parse_str(fields.record_id.as_deref()?).ok()?;
    let target = engine.get_by_id(&target_id).ok().flatten()?;
    if target.tenant() != ev.tenant || target.lsn >= ev.lsn {
        return None;
    }
    let mut resolved_by = None;
    let mut notes = None;
    for member in crate::event::top_level_members(fields.new_values?) {
        let (key, raw) = member.ok()?;
        match key {
            "resolved_by" => resolved_by = string(raw).map(|s| s.into_owned()),
            "resolution_notes" => notes = string(raw).map(|s| s.into_owned()),
            _ => {}
        }
    }
    let resolution = Resolution {
        by_lsn: ev.lsn,
        resolved_at_us: ev.created_at_us,
        resolved_by: resolved_by?,
        resolution_notes: notes,
    };
    Some((target.lsn, resolution))
}
