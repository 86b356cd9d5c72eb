//! The head-roles map: every head of the model coloured by one role score (previous token, sink, self,
//! entropy, distance, duplicate token, induction), with the score's definition and a table sortable by
//! any score. Clicking a head opens it. The scores come from the worker (`models::Roles`).

use super::Shared;
use crate::layout::heat_colour;
use crate::models::{ModelRun, Roles};
use crate::state::{Action, Role, ViewState};
use crate::text;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct HeadRolesProps {
    pub run: Shared<ModelRun>,
    pub view: ViewState,
    pub dark: bool,
    pub ondispatch: Callback<Action>,
}

/// Rows of the table: the heads with the highest scores.
const TABLE_ROWS: usize = 12;

#[component]
pub fn HeadRoles(props: &HeadRolesProps) -> Html {
    let d = props.ondispatch.clone();
    let Some(role) = props.view.display.roles else {
        let d = d.clone();
        return html! {
            <section class="panel" aria-label={text::ROLES_TITLE}>
                <button data-testid="roles-open" onclick={move |_: MouseEvent| d.emit(Action::SetRoles(Some(Role::PreviousToken)))}>
                    { text::ROLES_OPEN }</button>
            </section>
        };
    };
    let (layers, heads) = (props.run.shape.layers, props.run.shape.heads);
    let chip = |r: Role| {
        let d = d.clone();
        html! { <button class="chip" data-role={r.as_str()} aria-pressed={(r == role).to_string()}
        onclick={move |_: MouseEvent| d.emit(Action::SetRoles(Some(r)))}>{ text::role_label(r) }</button> }
    };
    let close = {
        let d = d.clone();
        move |_: MouseEvent| d.emit(Action::SetRoles(None))
    };
    let body = match props.run.roles.as_ref() {
        None => html! { <p class="hint" data-testid="roles-wait">{ text::ROLES_WAIT }</p> },
        Some(roles) if roles.of(role).is_empty() => match &roles.induction_error {
            Some(e) => html! { <p class="error" role="alert">{ text::induction_failed(e) }</p> },
            None => html! { <p class="note">{ text::ROLE_NOT_FOR_ENCODERS }</p> },
        },
        Some(roles) => map_and_table(roles, role, layers, heads, props.dark, &d),
    };
    html! {
        <section class="panel roles" aria-label={text::ROLES_TITLE} data-testid="head-roles">
            <h3>{ text::ROLES_TITLE }<button class="link" onclick={close}>{ text::ROLES_CLOSE }</button></h3>
            <div class="heads" role="group" aria-label={text::ROLES_PICK}>{ for Role::ALL.into_iter().map(chip) }</div>
            <p class="note" data-testid="role-definition">{ text::role_definition(role) }</p>
            { body }
        </section>
    }
}

fn map_and_table(roles: &Roles, role: Role, layers: usize, heads: usize, dark: bool, d: &Callback<Action>) -> Html {
    let scores = roles.of(role);
    let max = scores.iter().copied().filter(|s| s.is_finite()).fold(f32::MIN_POSITIVE, f32::max);
    let open = |l: usize, h: usize| {
        let d = d.clone();
        move |_: MouseEvent| d.emit(Action::OpenHead { layer: l, head: h })
    };
    let grid: Html = (0..layers)
        .map(|l| {
            let cells: Html = (0..heads)
                .map(|h| {
                    let s = scores.get(l * heads + h).copied().unwrap_or(f32::NAN);
                    let label = text::role_cell(l, h, s);
                    html! { <button class="role-cell" data-testid="role-cell" data-layer={l.to_string()} data-head={h.to_string()}
                                    data-score={s.to_string()} title={label.clone()} aria-label={label}
                                    style={format!("background:{}", heat_colour(s / max, dark))} onclick={open(l, h)}></button> }
                })
                .collect();
            html! { <div class="overview-row"><span class="row-label">{ format!("L{l}") }</span>{ cells }</div> }
        })
        .collect();
    // Sortable by any score: a column header re-colours the map by its role. The chosen score comes
    // first, where it is read without scrolling on a narrow screen.
    let columns: Vec<Role> = std::iter::once(role)
        .chain(Role::ALL.into_iter().filter(|r| *r != role))
        .filter(|r| !roles.of(*r).is_empty())
        .collect();
    let header: Html = columns
        .iter()
        .copied()
        .map(|r| {
            let d = d.clone();
            html! { <th aria-sort={if r == role { "descending" } else { "none" }}>
                <button class="link" onclick={move |_: MouseEvent| d.emit(Action::SetRoles(Some(r)))}>{ text::role_label(r) }</button></th> }
        })
        .collect();
    let rows: Html = roles
        .ranked(role, heads)
        .into_iter()
        .take(TABLE_ROWS)
        .map(|(l, h, _)| {
            let cells: Html = columns
                .iter()
                .copied()
                .map(|r| {
                    let s = roles.of(r).get(l * heads + h).copied().unwrap_or(f32::NAN);
                    html! { <td class={classes!((r == role).then_some("sorted"))}>{ text::score(s) }</td> }
                })
                .collect();
            html! { <tr data-testid="role-rank" data-layer={l.to_string()} data-head={h.to_string()}>
            <th><button class="chip" onclick={open(l, h)}>{ text::head_name(l, h) }</button></th>{ cells }</tr> }
        })
        .collect();
    html! {
        <>
            <div class="overview roles-map" data-testid="roles-map">{ grid }</div>
            <div class="roles-table"><table>
                <thead><tr><th>{ text::HEAD_COLUMN }</th>{ header }</tr></thead>
                <tbody>{ rows }</tbody>
            </table></div>
        </>
    }
}
