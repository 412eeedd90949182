//! A hostile fake ThreatConnect instance over raw TCP: every answer is
//! scripted by the test (redirects to another origin, lying counts, pages
//! far larger than asked, bodies dribbled or stalled, repeated ids), and
//! every request it receives is recorded, body and headers included.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent (`/api/v3/security/users?resultStart=0`).
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// A query parameter, decoded.
    pub fn param(&self, key: &str) -> Option<String> {
        let query = self.target.split_once('?')?.1;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// How the server answers one request.
pub enum Reply {
    /// A complete answer with `Content-Length`.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// 200 and headers, then `bytes` one byte every `every` (no length:
    /// the body ends when the connection closes).
    Dribble { every: Duration, bytes: Vec<u8> },
    /// 200 and headers, then `first` bytes, then silence.
    Stall { first: Vec<u8> },
    /// The request is read and nothing is ever answered.
    Silent,
    /// 200 with `prefix`, then spaces up to `size` bytes, sent without a
    /// length (still valid JSON when `prefix` is).
    Endless { prefix: Vec<u8>, size: usize },
}

impl Reply {
    pub fn json(status: u16, value: serde_json::Value) -> Reply {
        Reply::Full {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
        }
    }

    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::Full {
            status,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
        }
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// A running fake instance; stops when dropped.
pub struct Hostile {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Request>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Hostile {
    /// Listens on a free loopback port and answers with `handler`.
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let task_log = log.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (log, handler) = (task_log.clone(), handler.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, log, handler).await;
                });
            }
        });
        Hostile { addr, log, task }
    }

    /// A server that records what it receives and answers 200 `{}`: the
    /// "other origin" a hostile answer points to.
    pub async fn recorder() -> Hostile {
        Hostile::start(|_| Reply::json(200, serde_json::json!({"status": "Success"}))).await
    }

    /// `http://127.0.0.1:PORT/api`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// `http://localhost:PORT`: the same socket under another origin.
    pub fn other_origin(&self) -> String {
        format!("http://localhost:{}", self.addr.port())
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    log: Arc<Mutex<Vec<Request>>>,
    handler: Arc<Handler>,
) -> std::io::Result<()> {
    let Some(request) = read_request(&mut stream).await? else {
        return Ok(());
    };
    log.lock().unwrap().push(request.clone());
    let head = |status: u16, extra: &[(String, String)], length: Option<usize>| {
        let mut text = format!("HTTP/1.1 {status} Hostile\r\nConnection: close\r\n");
        for (k, v) in extra {
            text.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(length) = length {
            text.push_str(&format!("Content-Length: {length}\r\n"));
        }
        text.push_str("\r\n");
        text.into_bytes()
    };
    let json = [("Content-Type".to_string(), "application/json".to_string())];
    match handler(&request) {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            stream
                .write_all(&head(status, &headers, Some(body.len())))
                .await?;
            stream.write_all(&body).await?;
        }
        Reply::Dribble { every, bytes } => {
            stream.write_all(&head(200, &json, None)).await?;
            for byte in bytes {
                stream.write_all(&[byte]).await?;
                stream.flush().await?;
                tokio::time::sleep(every).await;
            }
        }
        Reply::Stall { first } => {
            stream.write_all(&head(200, &json, None)).await?;
            stream.write_all(&first).await?;
            stream.flush().await?;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Reply::Silent => tokio::time::sleep(Duration::from_secs(3600)).await,
        Reply::Endless { prefix, size } => {
            stream.write_all(&head(200, &json, None)).await?;
            stream.write_all(&prefix).await?;
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = prefix.len();
            while sent < size {
                stream.write_all(&chunk).await?;
                sent += chunk.len();
            }
        }
    }
    stream.flush().await?;
    let _ = stream.shutdown().await;
    Ok(())
}

async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = find(&buffer, b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let target = first.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(Request {
        method,
        target,
        headers,
        body,
    }))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An account as the fake lists it.
pub fn user(id: i64) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "userName": format!("user{id}@example.com"),
        "firstName": "Hostile",
        "lastName": format!("User {id}"),
        "owner": "Demo Organization",
        "systemRole": "User",
        "ownerRoles": {"Demo Organization": "Standard User"},
        "disabled": false,
        "locked": false,
    })
}

/// A list envelope of `ids`, with `count` when given.
pub fn page(ids: impl IntoIterator<Item = i64>, count: Option<u64>) -> serde_json::Value {
    let data: Vec<serde_json::Value> = ids.into_iter().map(user).collect();
    let mut envelope = serde_json::json!({"data": data, "status": "Success"});
    if let Some(count) = count {
        envelope["count"] = count.into();
    }
    envelope
}
