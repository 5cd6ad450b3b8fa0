//! A body wrapper that forwards every frame untouched while keeping a copy
//! of the first `limit` bytes; when the body ends (or is dropped early) the
//! copy goes to a callback. Memory per exchange is bounded by `limit`.

use crate::capture::Captured;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Called once with what was captured.
pub type OnDone = Box<dyn FnOnce(Captured) + Send + Sync>;

/// See the module docs.
pub struct TeeBody<B: HttpBody> {
    inner: B,
    limit: usize,
    captured: Captured,
    done: Option<OnDone>,
}

impl<B: HttpBody> TeeBody<B> {
    /// Wrap `inner`, keeping at most `limit` bytes, calling `done` at the end.
    pub fn new(inner: B, limit: usize, done: OnDone) -> TeeBody<B> {
        TeeBody {
            inner,
            limit,
            captured: Captured::default(),
            done: Some(done),
        }
    }

    fn finish(&mut self) {
        if let Some(done) = self.done.take() {
            let captured = std::mem::take(&mut self.captured);
            // Building the record must never break the response the app is
            // receiving: a bug there costs the record, not the traffic.
            let built =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || done(captured)));
            if built.is_err() {
                tracing::error!(
                    "recording an exchange failed (a bug); the traffic was not affected"
                );
            }
        }
    }
}

impl<B: HttpBody> Drop for TeeBody<B> {
    fn drop(&mut self) {
        // Servers stop polling once `is_end_stream` says so, and bodies known
        // to be empty may never be polled at all: neither is an interruption.
        if self.done.is_some() && self.captured.interrupted.is_none() && !self.inner.is_end_stream()
        {
            self.captured.interrupted = Some("the body was not read to its end".into());
        }
        self.finish();
    }
}

impl<B> HttpBody for TeeBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.captured.total += data.len() as u64;
                    let room = this.limit.saturating_sub(this.captured.bytes.len());
                    if data.len() > room {
                        this.captured.truncated = true;
                    }
                    let take = room.min(data.len());
                    this.captured.bytes.extend_from_slice(&data[..take]);
                }
                if this.inner.is_end_stream() {
                    this.finish();
                }
            }
            Poll::Ready(Some(Err(e))) => {
                this.captured.interrupted = Some(e.to_string());
                this.finish();
            }
            Poll::Ready(None) => this.finish(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
