//! The socket calls' requests to the network server (`kl.VfsNet`, docs/net.md) through the
//! channel `net` that init.yaml gives the program, found on first use (`handle.Lookup`).

use core::sync::atomic::{AtomicU32, Ordering};

use linux::errno::*;
use linux::netconf::NetConfig;
use linux::sys::socket::{NetReply, NetRequest};
use ostrog_abi::Status;
use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::sys as rt;

use super::vfs::idl::kl_net::NetProxy;
use super::vfs::idl::kl_vfs_net::riid;

/// The channel's handle: `UNKNOWN` before the first lookup, `NONE` when there is none.
static CHANNEL: AtomicU32 = AtomicU32::new(UNKNOWN);
const UNKNOWN: u32 = u32::MAX;
const NONE: u32 = u32::MAX - 1;

fn proxy() -> Result<NetProxy<rt::Channel>, i64> {
    let mut handle = CHANNEL.load(Ordering::Acquire);
    if handle == UNKNOWN {
        handle = rt::Channel::lookup("net").map_or(NONE, |c| c.handle);
        CHANNEL.store(handle, Ordering::Release);
    }
    match handle {
        // No network for this program: no address family.
        NONE => Err(EAFNOSUPPORT),
        handle => Ok(NetProxy {
            transport: rt::Channel { handle },
            riid: riid::NET,
        }),
    }
}

/// The errno of a failed request: the server's, or the kernel's refusal (a request the
/// policy denied is `EACCES`).
fn errno<E>(e: CallError<E>, status: impl Fn(&E) -> i32) -> i64 {
    match e {
        CallError::Remote(e) => i64::from(status(&e)),
        CallError::Transport(t) => match Status::from_result(t.0 as isize) {
            Err(Status::AccessDenied) => EACCES,
            Err(Status::NoMemory) => ENOMEM,
            _ => EIO,
        },
        CallError::Encode(_) => EMSGSIZE,
        CallError::Decode(_) => EIO,
    }
}

/// The network server's configuration (`Config`), for `/etc/resolv.conf`; `None` without
/// a network or when the request fails (denied by the policy, say).
pub fn config() -> Option<NetConfig> {
    let r = proxy().ok()?.config().ok()?;
    Some(NetConfig {
        addr: r.addr,
        prefix: u8::try_from(r.prefix).unwrap_or(0),
        gateway: r.gateway,
        dns: r.dns,
    })
}

/// One request.
pub fn request(r: NetRequest<'_>) -> Result<NetReply, i64> {
    let mut p = proxy()?;
    Ok(match r {
        NetRequest::Socket { kind } => {
            NetReply::Socket(p.socket(kind).map_err(|e| errno(e, |e| e.status))?.sock)
        }
        NetRequest::Bind { sock, addr, port } => {
            p.bind(sock, addr, port)
                .map_err(|e| errno(e, |e| e.status))?;
            NetReply::Done
        }
        NetRequest::Listen { sock, backlog } => {
            p.listen(sock, backlog)
                .map_err(|e| errno(e, |e| e.status))?;
            NetReply::Done
        }
        NetRequest::Accept { sock } => {
            let r = p.accept(sock).map_err(|e| errno(e, |e| e.status))?;
            NetReply::Accepted {
                conn: r.conn,
                addr: r.addr,
                port: r.port,
            }
        }
        NetRequest::Connect { sock, addr, port } => {
            p.connect(sock, addr, port)
                .map_err(|e| errno(e, |e| e.status))?;
            NetReply::Done
        }
        NetRequest::Send { sock, data } => NetReply::Sent(
            p.send(sock, data.into())
                .map_err(|e| errno(e, |e| e.status))?
                .sent,
        ),
        NetRequest::SendTo {
            sock,
            addr,
            port,
            data,
        } => {
            p.send_to(sock, addr, port, data.into())
                .map_err(|e| errno(e, |e| e.status))?;
            NetReply::Done
        }
        NetRequest::Recv { sock, max } => {
            NetReply::Data(p.recv(sock, max).map_err(|e| errno(e, |e| e.status))?.data)
        }
        NetRequest::RecvFrom { sock, max } => {
            let r = p.recv_from(sock, max).map_err(|e| errno(e, |e| e.status))?;
            NetReply::From {
                data: r.data,
                addr: r.addr,
                port: r.port,
            }
        }
        NetRequest::Shutdown { sock, how } => {
            p.shutdown(sock, how).map_err(|e| errno(e, |e| e.status))?;
            NetReply::Done
        }
        NetRequest::Close { sock } => {
            p.close(sock).map_err(|e| errno(e, |e| e.status))?;
            NetReply::Done
        }
        NetRequest::GetSockName { sock } => {
            let r = p.get_sock_name(sock).map_err(|e| errno(e, |e| e.status))?;
            NetReply::Addr {
                addr: r.addr,
                port: r.port,
            }
        }
        NetRequest::GetPeerName { sock } => {
            let r = p.get_peer_name(sock).map_err(|e| errno(e, |e| e.status))?;
            NetReply::Addr {
                addr: r.addr,
                port: r.port,
            }
        }
    })
}
