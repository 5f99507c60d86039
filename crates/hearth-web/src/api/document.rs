//! Completes the OpenAPI document with what every operation shares, so that it tells the
//! truth about each one without repeating it on every handler: the problems that the
//! extractors answer (401 without credentials, 400/413/415/422 for bodies, 400/422 for query
//! parameters, 404 for ids that name nothing, 503 when the database is busy or out of reach),
//! served as `application/problem+json`, and the `Retry-After` header of 429 and 503.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::Ref;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, Object, OpenApi, RefOr, ResponseBuilder, Type};

/// The media type of every error response.
const PROBLEM_JSON: &str = "application/problem+json";

/// Adds the shared responses to every operation and gives problems their media type.
pub(crate) fn complete(doc: &mut OpenApi) {
    let signed_in_by_default = doc
        .security
        .as_ref()
        .is_some_and(|requirements| requires_credentials(requirements));
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let signed_in = operation
                .security
                .as_ref()
                .map_or(signed_in_by_default, |r| requires_credentials(r));
            add_shared_responses(operation, signed_in);
            serve_problems_as_problem_json(operation);
            document_retry_after(operation);
        }
    }
}

/// Whether a list of alternatives demands credentials: it does unless one alternative is the
/// empty requirement (`security(())`, "no credentials needed").
fn requires_credentials(requirements: &[SecurityRequirement]) -> bool {
    !requirements.is_empty()
        && !requirements
            .iter()
            .any(|r| *r == SecurityRequirement::default())
}

fn add_shared_responses(operation: &mut Operation, signed_in: bool) {
    let has = |kind: ParameterIn, operation: &Operation| {
        operation.parameters.iter().flatten().any(|p| match p {
            RefOr::T(p) => p.parameter_in == kind,
            RefOr::Ref(_) => false,
        })
    };
    let has_limit = operation.parameters.iter().flatten().any(|p| match p {
        RefOr::T(p) => p.parameter_in == ParameterIn::Query && p.name == "limit",
        RefOr::Ref(_) => false,
    });
    let mut shared: Vec<(&str, &str)> = Vec::new();
    if signed_in {
        shared.push(("401", "No valid credentials (problem `unauthenticated`)"));
    }
    if operation.request_body.is_some() {
        shared.push(("400", "Malformed JSON body (problem `malformed-json`)"));
        shared.push(("413", "Body over 64 KiB (problem `payload-too-large`)"));
        shared.push(("415", "Body not sent as application/json"));
        shared.push((
            "422",
            "Invalid input (problem `validation`, naming the `field`)",
        ));
    }
    if has(ParameterIn::Query, operation) {
        shared.push((
            "400",
            "Query parameters that do not parse (problem `bad-query`)",
        ));
    }
    if has_limit {
        shared.push(("422", "`limit` out of bounds (problem `validation`)"));
    }
    if has(ParameterIn::Path, operation) {
        shared.push(("404", "No such object, or one the caller may not see"));
    }
    // Every operation reads or writes the database (signed in, if only to know the caller).
    shared.push((
        "503",
        "The database was busy (a write still colliding after retries, a lock or statement \
         timeout) or out of reach, or the server is shutting down; nothing was saved (problem \
         `unavailable`): try again after `Retry-After` seconds",
    ));
    for (status, description) in shared {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| {
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        PROBLEM_JSON,
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .into()
            });
    }
}

/// The answers that ask the client to come back later say when, in `Retry-After`.
fn document_retry_after(operation: &mut Operation) {
    for (status, response) in operation.responses.responses.iter_mut() {
        if let ("429" | "503", RefOr::T(response)) = (status.as_str(), response) {
            response.headers.insert(
                "Retry-After".to_string(),
                HeaderBuilder::new()
                    .schema(Some(Object::with_type(Type::Integer)))
                    .description(Some("Seconds to wait before trying again"))
                    .build()
                    .into(),
            );
        }
    }
}

/// Responses documented as `body = Problem` come out as `application/json`; they are sent as
/// `application/problem+json`.
fn serve_problems_as_problem_json(operation: &mut Operation) {
    let problem = Ref::from_schema_name("Problem").ref_location;
    for response in operation.responses.responses.values_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let is_problem = response.content.get("application/json").is_some_and(|c| {
            matches!(c, RefOr::T(c) if matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location == problem))
        });
        if is_problem && let Some(content) = response.content.shift_remove("application/json") {
            response.content.insert(PROBLEM_JSON.to_string(), content);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> serde_json::Value {
        let (_, mut doc) = super::super::router().split_for_parts();
        complete(&mut doc);
        serde_json::to_value(&doc).unwrap_or_default()
    }

    #[test]
    fn problems_are_documented_as_problem_json_with_the_shared_statuses() {
        let doc = document();
        let post = &doc["paths"]["/api/v1/channels/{channel_id}/messages"]["post"]["responses"];
        for status in ["400", "401", "404", "413", "415", "422", "503"] {
            assert!(
                post[status]["content"][PROBLEM_JSON].is_object(),
                "{status}: {post}"
            );
        }
        assert!(post["201"]["content"]["application/json"].is_object());
        let history = &doc["paths"]["/api/v1/channels/{channel_id}/messages"]["get"]["responses"];
        assert!(history["422"].is_object(), "limit out of bounds");
    }

    #[test]
    fn every_operation_documents_503_and_when_to_retry() {
        let doc = document();
        let paths = doc["paths"]
            .as_object()
            .map(|p| p.values())
            .into_iter()
            .flatten();
        let mut operations = 0;
        for item in paths {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let unavailable = &operation["responses"]["503"];
                assert!(
                    unavailable["content"][PROBLEM_JSON].is_object(),
                    "{method}: {operation}"
                );
                assert!(
                    unavailable["headers"]["Retry-After"].is_object(),
                    "{method}"
                );
                operations += 1;
            }
        }
        assert!(operations > 20, "{operations} operations");
        let sign_in = &doc["paths"]["/api/v1/sessions"]["post"]["responses"]["429"];
        assert!(sign_in["headers"]["Retry-After"].is_object(), "{sign_in}");
    }

    #[test]
    fn operations_open_to_everyone_do_not_promise_401() {
        let doc = document();
        let register = &doc["paths"]["/api/v1/accounts"]["post"]["responses"];
        assert!(register["401"].is_null(), "{register}");
    }
}
