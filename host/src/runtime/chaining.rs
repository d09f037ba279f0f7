//! Outgoing HTTP from components: `*.spin.internal` goes in-process to the named component,
//! other hosts go out over the network if `allowed_outbound_hosts` permits.

use std::sync::{Arc, Weak};

use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error, RequestOptions, WasiHttpHooks};

use super::activity::{ActiveBody, Activity, RequestTag};
use super::dispatch::{CallError, Dispatch, Request, Response};
use crate::config::outbound::{OutboundPolicy, chained_component};

type SendResult =
    wasmtime_wasi_http::Result<(Response, Box<dyn Future<Output = Result<(), Error>> + Send>)>;

/// The wasi:http hooks of one component's instances.
#[derive(Clone)]
pub struct OutboundHooks {
    component: Arc<str>,
    policy: Arc<OutboundPolicy>,
    /// Weak: the runtime owns the instances that hold these hooks. `None` outside a running
    /// app (`vox preinit`), where no other component can be reached.
    runtime: Option<Weak<dyn Dispatch>>,
    /// The instance's own activity, kept up by the chained responses it reads.
    activity: Option<Arc<Activity>>,
}

impl OutboundHooks {
    pub fn new(component: &str, policy: OutboundPolicy, runtime: Weak<dyn Dispatch>) -> Self {
        Self::with(component, policy, Some(runtime))
    }

    /// Hooks for an instance run on its own: outbound hosts as allowed, no chaining.
    pub fn standalone(component: &str, policy: OutboundPolicy) -> Self {
        Self::with(component, policy, None)
    }

    fn with(component: &str, policy: OutboundPolicy, runtime: Option<Weak<dyn Dispatch>>) -> Self {
        Self {
            component: component.into(),
            policy: Arc::new(policy),
            runtime,
            activity: None,
        }
    }

    /// The hooks of one instance, whose chained responses count as its activity.
    pub fn for_instance(&self, activity: &Arc<Activity>) -> Self {
        Self {
            activity: Some(activity.clone()),
            ..self.clone()
        }
    }
}

fn no_io() -> Box<dyn Future<Output = Result<(), Error>> + Send> {
    Box::new(async { Ok(()) })
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: Request,
        options: Option<RequestOptions>,
        _response_result: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let uri = request.uri().clone();
        if !self.policy.allows(&uri) {
            let host = match (uri.scheme_str(), uri.authority()) {
                (Some(s), Some(a)) => format!("{s}://{a}"),
                _ => uri.to_string(),
            };
            tracing::warn!(
                component = %self.component,
                host = %host,
                "outbound request denied: component {:?} may not reach {host}; add it to allowed_outbound_hosts",
                &*self.component,
            );
            return Box::new(async { SendResult::Err(Error::HttpRequestDenied) });
        }
        match chained_component(&uri) {
            Some(target) => Box::new(chain(
                self.runtime.clone(),
                self.component.clone(),
                target.to_string(),
                request,
                self.activity.clone(),
            )),
            None => Box::new(forward(request, options)),
        }
    }
}

/// In-process call to another component of the app; bodies stay streams, and the response
/// flowing in counts as the caller's activity too.
async fn chain(
    runtime: Option<Weak<dyn Dispatch>>,
    caller: Arc<str>,
    target: String,
    request: Request,
    activity: Option<Arc<Activity>>,
) -> SendResult {
    let runtime = runtime
        .and_then(|runtime| runtime.upgrade())
        .ok_or(Error::DestinationUnavailable)?;
    match runtime.call_chained(&target, request).await {
        Ok(response) => {
            let response = match activity {
                Some(activity) => response
                    .map(|body| ActiveBody::new(body, RequestTag::of(&activity)).boxed_unsync()),
                None => response,
            };
            Ok((response, no_io()))
        }
        Err(CallError::UnknownComponent) => {
            tracing::warn!(component = %caller, target = %target, "chained request to a component with no trigger");
            Err(Error::DestinationNotFound)
        }
        Err(CallError::Timeout) => Err(Error::HttpResponseTimeout),
        Err(CallError::Failed(message)) => Err(Error::InternalError(Some(message))),
    }
}

/// A real network request to an allowed host.
async fn forward(request: Request, options: Option<RequestOptions>) -> SendResult {
    use http_body_util::BodyExt;
    let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
    let io: Box<dyn Future<Output = Result<(), Error>> + Send> = Box::new(io);
    Ok((response.map(BodyExt::boxed_unsync), io))
}
