//! The `MessagingService` trait implementation: routing only. Every RPC answers a v2 status in
//! its response (never a panic or a transport error for bad input); each family lives in its
//! own file.

use std::sync::Arc;

use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::metadata::Caller;
use crate::pb::messaging_service_server::MessagingService;
use crate::pb::{
    AckMessageRequest, AckMessageResponse, ChangeInvisibleDurationRequest,
    ChangeInvisibleDurationResponse, EndTransactionRequest, EndTransactionResponse,
    ForwardMessageToDeadLetterQueueRequest, ForwardMessageToDeadLetterQueueResponse,
    GetOffsetRequest, GetOffsetResponse, HeartbeatRequest, HeartbeatResponse,
    NotifyClientTerminationRequest, NotifyClientTerminationResponse, PullMessageRequest,
    PullMessageResponse, QueryAssignmentRequest, QueryAssignmentResponse, QueryOffsetRequest,
    QueryOffsetResponse, QueryRouteRequest, QueryRouteResponse, RecallMessageRequest,
    RecallMessageResponse, ReceiveMessageRequest, ReceiveMessageResponse, SendMessageRequest,
    SendMessageResponse, TelemetryCommand, UpdateOffsetRequest, UpdateOffsetResponse,
};
use crate::server::Shared;
use crate::unsupported::not_implemented;
use crate::{ack, client, consume, offsets, route, send, transaction};

pub struct Service {
    shared: Arc<Shared>,
}

impl Service {
    pub(crate) fn new(shared: Arc<Shared>) -> Service {
        Service { shared }
    }
}

#[tonic::async_trait]
impl MessagingService for Service {
    async fn query_route(
        &self,
        request: Request<QueryRouteRequest>,
    ) -> Result<Response<QueryRouteResponse>, Status> {
        let caller = Caller::of(&request);
        Ok(Response::new(route::query_route(
            &self.shared,
            &caller,
            request.get_ref(),
        )))
    }

    async fn heartbeat(
        &self,
        request: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatResponse>, Status> {
        let caller = Caller::of(&request);
        Ok(Response::new(client::heartbeat(
            &self.shared,
            &caller,
            request.get_ref(),
        )))
    }

    async fn send_message(
        &self,
        request: Request<SendMessageRequest>,
    ) -> Result<Response<SendMessageResponse>, Status> {
        let caller = Caller::of(&request);
        Ok(Response::new(
            send::send(&self.shared, &caller, request.get_ref()).await,
        ))
    }

    async fn query_assignment(
        &self,
        request: Request<QueryAssignmentRequest>,
    ) -> Result<Response<QueryAssignmentResponse>, Status> {
        let caller = Caller::of(&request);
        Ok(Response::new(consume::query_assignment(
            &self.shared,
            &caller,
            request.get_ref(),
        )))
    }

    type ReceiveMessageStream =
        tokio_stream::Iter<std::vec::IntoIter<Result<ReceiveMessageResponse, Status>>>;

    async fn receive_message(
        &self,
        request: Request<ReceiveMessageRequest>,
    ) -> Result<Response<Self::ReceiveMessageStream>, Status> {
        let caller = Caller::of(&request);
        let responses = consume::receive(&self.shared, &caller, request.get_ref()).await;
        Ok(Response::new(tokio_stream::iter(
            responses.into_iter().map(Ok).collect::<Vec<_>>(),
        )))
    }

    async fn ack_message(
        &self,
        request: Request<AckMessageRequest>,
    ) -> Result<Response<AckMessageResponse>, Status> {
        let caller = Caller::of(&request);
        Ok(Response::new(ack::ack(
            &self.shared,
            &caller,
            request.get_ref(),
        )))
    }

    async fn forward_message_to_dead_letter_queue(
        &self,
        request: Request<ForwardMessageToDeadLetterQueueRequest>,
    ) -> Result<Response<ForwardMessageToDeadLetterQueueResponse>, Status> {
        let caller = Caller::of(&request);
        Ok(Response::new(
            ack::forward_to_dead_letter_queue(&self.shared, &caller, request.get_ref()).await,
        ))
    }

    type PullMessageStream =
        tokio_stream::Iter<std::vec::IntoIter<Result<PullMessageResponse, Status>>>;

    async fn pull_message(
        &self,
        request: Request<PullMessageRequest>,
    ) -> Result<Response<Self::PullMessageStream>, Status> {
        let caller = Caller::of(&request);
        let responses = offsets::pull(&self.shared, &caller, request.get_ref()).await;
        Ok(Response::new(tokio_stream::iter(
            responses.into_iter().map(Ok).collect::<Vec<_>>(),
        )))
    }

    async fn update_offset(
        &self,
        request: Request<UpdateOffsetRequest>,
    ) -> Result<Response<UpdateOffsetResponse>, Status> {
        let caller = Caller::of(&request);
        Ok(Response::new(offsets::update_offset(
            &self.shared,
            &caller,
            request.get_ref(),
        )))
    }

    async fn get_offset(
        &self,
        request: Request<GetOffsetRequest>,
    ) -> Result<Response<GetOffsetResponse>, Status> {
        let caller = Caller::of(&request);
        Ok(Response::new(offsets::get_offset(
            &self.shared,
            &caller,
            request.get_ref(),
        )))
    }

    async fn query_offset(
        &self,
        request: Request<QueryOffsetRequest>,
    ) -> Result<Response<QueryOffsetResponse>, Status> {
        let caller = Caller::of(&request);
        Ok(Response::new(
            offsets::query_offset(&self.shared, &caller, request.get_ref()).await,
        ))
    }

    async fn end_transaction(
        &self,
        request: Request<EndTransactionRequest>,
    ) -> Result<Response<EndTransactionResponse>, Status> {
        let caller = Caller::of(&request);
        Ok(Response::new(
            transaction::end(&self.shared, &caller, request.get_ref()).await,
        ))
    }

    type TelemetryStream = ReceiverStream<Result<TelemetryCommand, Status>>;

    async fn telemetry(
        &self,
        request: Request<Streaming<TelemetryCommand>>,
    ) -> Result<Response<Self::TelemetryStream>, Status> {
        let caller = Caller::of(&request);
        Ok(Response::new(client::telemetry(
            Arc::clone(&self.shared),
            caller,
            request.into_inner(),
        )))
    }

    async fn notify_client_termination(
        &self,
        request: Request<NotifyClientTerminationRequest>,
    ) -> Result<Response<NotifyClientTerminationResponse>, Status> {
        let caller = Caller::of(&request);
        Ok(Response::new(client::notify_client_termination(
            &self.shared,
            &caller,
            request.get_ref(),
        )))
    }

    async fn change_invisible_duration(
        &self,
        request: Request<ChangeInvisibleDurationRequest>,
    ) -> Result<Response<ChangeInvisibleDurationResponse>, Status> {
        let caller = Caller::of(&request);
        Ok(Response::new(ack::change_invisible_duration(
            &self.shared,
            &caller,
            request.get_ref(),
        )))
    }

    async fn recall_message(
        &self,
        _request: Request<RecallMessageRequest>,
    ) -> Result<Response<RecallMessageResponse>, Status> {
        Ok(Response::new(RecallMessageResponse {
            status: Some(not_implemented("RecallMessage")),
            message_id: String::new(),
        }))
    }
}
