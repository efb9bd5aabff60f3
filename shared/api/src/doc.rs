//! The OpenAPI document, from the stubs of [`crate::routes`]. Every operation's `default`
//! response is the shared problem+json response, added by [`ProblemResponses`] so no route
//! can forget it.

use nexify_http::Problem;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::routes::*;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Nexify API",
        version = "1.0.0",
        description = "AI-native ticket triage. Console users authenticate with a bearer JWT \
            from /api/auth/token/; webhook senders sign requests with the org's secret. Every \
            error is application/problem+json. Ids outside the caller's orgs are 404."
    ),
    servers((url = "/")),
    security(("bearer" = [])),
    modifiers(&ProblemResponses, &BearerAuth),
    paths(
        health, openapi, token, sign_up, refresh, logout, me, change_password,
        request_password_reset, confirm_password_reset,
        list_tickets, create_ticket, get_ticket, patch_ticket, ticket_events, ticket_messages,
        write_message, import_history,
        get_settings, put_settings, rotate_webhook_secret, webhook_ticket, webhook_message,
        list_members, change_member_role, remove_member,
        create_invite, list_invites, revoke_invite, preview_invite, accept_invite,
        run_triage, get_job, ticket_suggestions, accept_suggestion, reject_suggestion,
        list_documents, create_document, get_document, delete_document, search_kb,
        get_models, get_model_outcomes, retrain_models,
        list_endpoints, create_endpoint, change_endpoint, delete_endpoint, list_deliveries,
        redeliver, test_endpoint,
    )
)]
pub struct ApiDoc;

/// The document as served at `GET /api/openapi.json`.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_json()
        .expect("the generated document serialises")
}

struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.responses.insert(
            "Problem".into(),
            ResponseBuilder::new()
                .description("An error (RFC 9457)")
                .content(
                    nexify_http::PROBLEM_CONTENT_TYPE,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
                .into(),
        );
        let problem = Ref::from_response_name("Problem");
        for item in api.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                op.responses
                    .responses
                    .insert("default".into(), problem.clone().into());
            }
        }
        // The schema itself, which no operation names directly.
        let (name, schema) = (
            <Problem as utoipa::ToSchema>::name(),
            <Problem as utoipa::PartialSchema>::schema(),
        );
        components.schemas.insert(name.into_owned(), schema);
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        api.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
    }
}

#[cfg(test)]
mod tests {
    use nexify_http::routing::routes_from_template;
    use serde_json::Value;

    const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

    fn document() -> Value {
        serde_json::from_str(&super::document()).expect("the document is JSON")
    }

    /// The document and the template name exactly the same operations.
    #[test]
    fn the_document_describes_every_template_route_and_no_other() {
        let template = include_str!("../../../template.yaml");
        let mut in_template: Vec<String> = routes_from_template(template)
            .into_iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        in_template.sort();
        let spec = document();
        assert_eq!(spec["openapi"], "3.1.0");
        let mut in_spec: Vec<String> = spec["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .flat_map(|(path, item)| {
                METHODS
                    .iter()
                    .filter(|m| item.get(**m).is_some())
                    .map(move |m| format!("{} {path}", m.to_uppercase()))
            })
            .collect();
        in_spec.sort();
        assert_eq!(in_spec, in_template);
    }

    /// Every operation documents its errors as problem+json, and names its path parameters.
    #[test]
    fn every_operation_has_the_problem_response_and_its_path_parameters() {
        let spec = document();
        for (path, item) in spec["paths"].as_object().unwrap() {
            for m in METHODS.iter().filter(|m| item.get(**m).is_some()) {
                let op = &item[*m];
                assert_eq!(
                    op["responses"]["default"]["$ref"], "#/components/responses/Problem",
                    "{m} {path}"
                );
                let in_path: Vec<&str> = op["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .filter(|p| p["in"] == "path")
                            .filter_map(|p| p["name"].as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                let braced: Vec<&str> = path
                    .split('/')
                    .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                    .collect();
                assert_eq!(in_path, braced, "{m} {path}");
            }
        }
    }

    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    /// A `$ref` to a schema nobody registered would pass serialisation and fail clients.
    #[test]
    fn every_reference_resolves() {
        let spec = document();
        let mut all = Vec::new();
        refs(&spec, &mut all);
        assert!(all.len() > 50, "the document refers to its schemas");
        for r in all {
            let pointer = r.strip_prefix('#').expect("a local reference");
            assert!(spec.pointer(pointer).is_some(), "{r} resolves");
        }
    }

    /// Request bodies refuse unknown fields, as the handlers do.
    #[test]
    fn request_bodies_refuse_unknown_fields() {
        let spec = document();
        for name in [
            "TokenRequest",
            "RefreshRequest",
            "LogoutRequest",
            "PasswordChange",
            "PasswordResetRequest",
            "PasswordResetConfirm",
            "SignUp",
            "NewTicket",
            "TicketPatch",
            "SettingsUpdate",
            "FieldThresholdsUpdate",
            "WebhookTicket",
            "WebhookMessage",
            "NewMessage",
            "NewEndpoint",
            "EndpointPatch",
            "AcceptRequest",
            "RejectRequest",
            "MemberPatch",
            "NewInvite",
            "AcceptInvite",
            "NewDocument",
        ] {
            let schema = &spec["components"]["schemas"][name];
            assert_eq!(schema["additionalProperties"], false, "{name}");
        }
    }
}
