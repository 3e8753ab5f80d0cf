//! Connection tests over a scripted in-memory stream with a virtual clock.

use super::*;
use crate::http::limits::{BIG_FILE_BYTES, MAX_URI_BYTES};
use crate::http::router::tests::router;
use alloc::collections::VecDeque;
use alloc::string::String;
use proptest::prelude::*;

/// What the client does next.
enum Step {
    Send(Vec<u8>),
    /// Sends nothing for this many milliseconds.
    Pause(u64),
}

/// A client played from a script; what the server writes is collected in `written`.
struct ScriptedStream {
    script: VecDeque<Step>,
    written: Vec<u8>,
    now: u64,
    /// At the end of the script: keep the connection open (reads time out) or close it.
    stay_open: bool,
}

impl ScriptedStream {
    fn new(steps: Vec<Step>) -> ScriptedStream {
        ScriptedStream {
            script: steps.into(),
            written: Vec::new(),
            now: 0,
            stay_open: false,
        }
    }

    fn sending(bytes: &[u8]) -> ScriptedStream {
        ScriptedStream::new(vec![Step::Send(bytes.to_vec())])
    }
}

impl Stream for ScriptedStream {
    fn read(&mut self, buf: &mut [u8], timeout_ms: u64) -> Result<usize, StreamError> {
        match self.script.pop_front() {
            Some(Step::Send(mut bytes)) => {
                let n = bytes.len().min(buf.len());
                buf[..n].copy_from_slice(&bytes[..n]);
                if n < bytes.len() {
                    self.script.push_front(Step::Send(bytes.split_off(n)));
                }
                Ok(n)
            }
            Some(Step::Pause(ms)) if ms <= timeout_ms => {
                self.now += ms;
                self.read(buf, timeout_ms - ms)
            }
            Some(Step::Pause(ms)) => {
                self.now += timeout_ms;
                self.script.push_front(Step::Pause(ms - timeout_ms));
                Err(StreamError::TimedOut)
            }
            None if self.stay_open => {
                self.now += timeout_ms;
                Err(StreamError::TimedOut)
            }
            None => Ok(0),
        }
    }

    fn write_all(&mut self, data: &[u8], _timeout_ms: u64) -> Result<(), StreamError> {
        self.written.extend_from_slice(data);
        Ok(())
    }

    fn now_ms(&self) -> u64 {
        self.now
    }
}

/// One parsed response: status, headers, body.
#[derive(Debug)]
struct Answer {
    code: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Splits the server's output into responses; `heads` says, for each, whether it answered a
/// HEAD request (no body follows its Content-Length).
fn answers(mut output: &[u8], heads: &[bool]) -> Vec<Answer> {
    let mut answers = Vec::new();
    while !output.is_empty() {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut headers);
        let head_len = match response.parse(output).expect("well-formed response") {
            httparse::Status::Complete(len) => len,
            httparse::Status::Partial => panic!("truncated response head"),
        };
        let headers: Vec<(String, String)> = response
            .headers
            .iter()
            .map(|h| (h.name.into(), String::from_utf8_lossy(h.value).into()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "Content-Length")
            .expect("Content-Length is always sent")
            .1
            .parse()
            .unwrap();
        let is_head = heads.get(answers.len()).copied().unwrap_or(false);
        let body_len = if is_head { 0 } else { length };
        let body = output[head_len..head_len + body_len].to_vec();
        answers.push(Answer {
            code: response.code.unwrap(),
            headers,
            body,
        });
        output = &output[head_len + body_len..];
    }
    answers
}

fn serve_script(stream: &mut ScriptedStream) -> Ending {
    serve(stream, &router(), &|| false)
}

#[test]
fn keep_alive_serves_requests_until_the_client_closes() {
    let mut stream = ScriptedStream::new(vec![
        Step::Send(b"GET / HTTP/1.1\r\nHost: k\r\n\r\n".to_vec()),
        Step::Pause(1000),
        Step::Send(b"GET /api/stats HTTP/1.1\r\n\r\n".to_vec()),
    ]);
    assert_eq!(serve_script(&mut stream), Ending::ClientClosed);
    let answers = answers(&stream.written, &[]);
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0].code, 200);
    assert_eq!(answers[0].header("Connection"), Some("keep-alive"));
    assert_eq!(answers[1].header("Content-Type"), Some("application/json"));
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut stream = ScriptedStream::sending(
        b"GET /missing HTTP/1.1\r\n\r\nHEAD / HTTP/1.1\r\n\r\nGET /api/threads HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    );
    assert_eq!(serve_script(&mut stream), Ending::Done);
    let answers = answers(&stream.written, &[false, true, false]);
    let codes: Vec<u16> = answers.iter().map(|a| a.code).collect();
    assert_eq!(codes, [404, 200, 200]);
    assert!(answers[2].body.starts_with(b"{\"context_switches\""));
    assert_eq!(answers[2].header("Connection"), Some("close"));
}

#[test]
fn head_has_the_headers_of_get_and_no_body() {
    let mut get = ScriptedStream::sending(b"GET /index.html HTTP/1.1\r\n\r\n");
    let mut head = ScriptedStream::sending(b"HEAD /index.html HTTP/1.1\r\n\r\n");
    serve_script(&mut get);
    serve_script(&mut head);
    let get = answers(&get.written, &[false]).remove(0);
    let head = answers(&head.written, &[true]).remove(0);
    assert_eq!(get.headers, head.headers);
    assert!(head.body.is_empty());
    assert_eq!(
        get.header("Content-Length").unwrap(),
        get.body.len().to_string()
    );
}

#[test]
fn http10_closes_unless_asked_to_keep_alive() {
    let mut stream = ScriptedStream::sending(b"GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n");
    assert_eq!(serve_script(&mut stream), Ending::Done);
    assert_eq!(answers(&stream.written, &[]).len(), 1);

    let mut stream = ScriptedStream::sending(
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n",
    );
    assert_eq!(serve_script(&mut stream), Ending::Done);
    let answers = answers(&stream.written, &[]);
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0].header("Connection"), Some("keep-alive"));
}

#[test]
fn refusals_close_the_connection() {
    let cases: [(&[u8], u16); 4] = [
        (b"BREW / HTTP/1.1\r\n\r\n", 501),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),
        (
            b"GET / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789",
            413,
        ),
        (b"GET / HTTP/9.9\r\n\r\n", 505),
    ];
    for (request, code) in cases {
        let mut stream = ScriptedStream::sending(request);
        let ending = serve_script(&mut stream);
        let answers = answers(&stream.written, &[]);
        assert_eq!(answers.len(), 1, "{request:?}");
        assert_eq!(answers[0].code, code, "{request:?}");
        assert!(matches!(ending, Ending::Refused(_)), "{request:?}");
    }
}

#[test]
fn path_escapes_are_bad_requests() {
    let mut stream = ScriptedStream::sending(b"GET /a/../../x HTTP/1.1\r\n\r\n");
    serve_script(&mut stream);
    assert_eq!(answers(&stream.written, &[])[0].code, 400);
}

#[test]
fn wrong_method_is_405_and_a_body_ends_the_connection() {
    let mut stream = ScriptedStream::sending(
        b"POST /index.html HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET / HTTP/1.1\r\n\r\n",
    );
    assert_eq!(serve_script(&mut stream), Ending::Done);
    let answers = answers(&stream.written, &[]);
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].code, 405);
    assert_eq!(answers[0].header("Allow"), Some("GET, HEAD"));
}

#[test]
fn oversized_heads() {
    let mut huge_header = b"GET / HTTP/1.1\r\nX: ".to_vec();
    huge_header.resize(MAX_HEAD_BYTES + 100, b'a');
    let mut stream = ScriptedStream::sending(&huge_header);
    assert_eq!(
        serve_script(&mut stream),
        Ending::Refused(Status::HeaderFieldsTooLarge)
    );
    assert_eq!(answers(&stream.written, &[])[0].code, 431);

    let long_uri = format!("GET /{} HTTP/1.1\r\n\r\n", "x".repeat(MAX_URI_BYTES));
    let mut stream = ScriptedStream::sending(long_uri.as_bytes());
    assert_eq!(
        serve_script(&mut stream),
        Ending::Refused(Status::UriTooLong)
    );
}

#[test]
fn idle_connections_time_out() {
    let mut stream = ScriptedStream::sending(b"GET / HTTP/1.1\r\n\r\n");
    stream.stay_open = true;
    assert_eq!(serve_script(&mut stream), Ending::Idle);
    assert!(stream.now >= IDLE_TIMEOUT_MS && stream.now < IDLE_TIMEOUT_MS + 100);

    // Under pressure, a new connection still gets a while for its first request.
    let mut stream = ScriptedStream::new(vec![]);
    stream.stay_open = true;
    assert_eq!(serve(&mut stream, &router(), &|| true), Ending::Idle);
    assert!(stream.now >= FIRST_REQUEST_TIMEOUT_UNDER_PRESSURE_MS);
    assert!(stream.now <= FIRST_REQUEST_TIMEOUT_UNDER_PRESSURE_MS + PRESSURE_CHECK_MS);
}

#[test]
fn under_pressure_a_served_keep_alive_connection_idles_out_quickly() {
    // The response goes out as keep-alive (nobody waits yet); then others queue up. The
    // server asks twice before the response (idle wait, keep-alive decision).
    let asked = core::cell::Cell::new(0);
    let mut stream = ScriptedStream::new(vec![
        Step::Send(b"GET / HTTP/1.1\r\n\r\n".to_vec()),
        Step::Pause(u64::MAX),
    ]);
    let others = || {
        asked.set(asked.get() + 1);
        asked.get() > 2
    };
    assert_eq!(serve(&mut stream, &router(), &others), Ending::Idle);
    assert_eq!(
        answers(&stream.written, &[])[0].header("Connection"),
        Some("keep-alive")
    );
    assert!(stream.now <= IDLE_TIMEOUT_UNDER_PRESSURE_MS + PRESSURE_CHECK_MS);
}

#[test]
fn under_pressure_a_connection_ends_after_its_response() {
    let mut stream = ScriptedStream::sending(b"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    assert_eq!(serve(&mut stream, &router(), &|| true), Ending::Done);
    let answers = answers(&stream.written, &[]);
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].header("Connection"), Some("close"));
}

#[test]
fn a_dribbling_client_gets_408() {
    let request = b"GET / HTTP/1.1\r\nHost: slow\r\n\r\n";
    let steps = request
        .iter()
        .flat_map(|&b| [Step::Send(vec![b]), Step::Pause(1000)])
        .collect();
    let mut stream = ScriptedStream::new(steps);
    assert_eq!(
        serve_script(&mut stream),
        Ending::Refused(Status::RequestTimeout)
    );
    assert_eq!(stream.now, HEAD_TIMEOUT_MS);
}

#[test]
fn a_patient_dribbler_is_served() {
    let request = b"GET / HTTP/1.1\r\n\r\n";
    let steps = request
        .iter()
        .flat_map(|&b| [Step::Send(vec![b]), Step::Pause(100)])
        .collect();
    let mut stream = ScriptedStream::new(steps);
    serve_script(&mut stream);
    assert_eq!(answers(&stream.written, &[])[0].code, 200);
}

#[test]
fn big_file_is_generated_in_full() {
    let mut stream = ScriptedStream::sending(b"GET /big.bin HTTP/1.1\r\n\r\n");
    serve_script(&mut stream);
    let answer = answers(&stream.written, &[]).remove(0);
    assert_eq!(answer.body.len(), BIG_FILE_BYTES);
    assert!(
        answer
            .body
            .iter()
            .enumerate()
            .all(|(i, &b)| b == (i % 251) as u8)
    );
}

/// A valid request for one of the site's resources, with random extra headers.
fn valid_request() -> impl Strategy<Value = (Vec<u8>, bool)> {
    let paths = prop::sample::select(vec!["/", "/index.html", "/api/stats", "/api/pci", "/nope"]);
    let header = ("[A-Za-z][A-Za-z0-9-]{0,15}", "[ -~]{0,40}");
    (
        any::<bool>(),
        paths,
        prop::collection::vec(header, 0..8),
        "[a-z0-9=&]{0,20}",
    )
        .prop_map(|(is_head, path, headers, query)| {
            let method = if is_head { "HEAD" } else { "GET" };
            let mut text = format!("{method} {path}?{query} HTTP/1.1\r\n");
            for (name, value) in headers {
                let lower = name.to_ascii_lowercase();
                if ["connection", "content-length", "transfer-encoding"].contains(&lower.as_str()) {
                    continue;
                }
                text.push_str(&format!("{name}: {}\r\n", value.trim()));
            }
            text.push_str("\r\n");
            (text.into_bytes(), is_head)
        })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let mut stream = ScriptedStream::sending(&bytes);
        serve_script(&mut stream);
        // Whatever was sent, every answer is a well-formed response.
        answers(&stream.written, &[]);
    }

    #[test]
    fn valid_requests_round_trip(requests in prop::collection::vec(valid_request(), 1..6)) {
        let mut all = Vec::new();
        let mut heads = Vec::new();
        for (bytes, is_head) in &requests {
            all.extend_from_slice(bytes);
            heads.push(*is_head);
        }
        let mut stream = ScriptedStream::sending(&all);
        prop_assert_eq!(serve_script(&mut stream), Ending::ClientClosed);
        let answers = answers(&stream.written, &heads);
        prop_assert_eq!(answers.len(), requests.len());
        for (answer, (bytes, _)) in answers.iter().zip(&requests) {
            let missing = bytes.starts_with(b"GET /nope") || bytes.starts_with(b"HEAD /nope");
            prop_assert_eq!(answer.code, if missing { 404 } else { 200 });
        }
    }
}

#[test]
fn counters_match_what_was_sent() {
    use crate::http::router::tests::FakeProbe;
    use crate::http::stats::HttpCounters;
    let counters = HttpCounters::new();
    let router = Router {
        probe: &FakeProbe,
        counters: &counters,
        workers: 8,
    };
    let mut stream = ScriptedStream::sending(
        b"GET / HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\nBREW / HTTP/1.1\r\n\r\n",
    );
    serve(&mut stream, &router, &|| false);
    let info = counters.snapshot(8);
    assert_eq!(info.requests, 2);
    assert_eq!(
        (info.responses_2xx, info.responses_4xx, info.responses_5xx),
        (1, 1, 1)
    );
    assert_eq!(info.bytes_sent, stream.written.len() as u64);
}
