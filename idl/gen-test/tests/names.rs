//! `lock.Names` declares types `T`, `Q`, `S` and `C`, the names a generator would reach for as
//! type parameters: the proxy, the security client and the dispatchers still take them.

use ostrog_idl_gen_test::lock_keeper::{self, riid, KeeperEndpoints};
use ostrog_idl_gen_test::lock_names::{
    NamesProxy, NamesSecurity, NamesServer, UseError, UseRequest, UseResponse, C, Q, S, T,
};
use ostrog_idl_gen_test::spec_rt::{Message, Transport, TransportError};

struct Keeper {
    used: Vec<UseRequest>,
}

impl NamesServer for Keeper {
    fn r#use(&mut self, request: UseRequest) -> Result<UseResponse, UseError> {
        self.used.push(request);
        Ok(UseResponse {})
    }
}

impl KeeperEndpoints for Keeper {
    fn names(&mut self) -> &mut dyn NamesServer {
        self
    }
}

struct Loopback<'a>(&'a mut Keeper);

impl Transport for Loopback<'_> {
    fn call(&mut self, request: &[u8], response: &mut [u8]) -> Result<usize, TransportError> {
        let reply = lock_keeper::dispatch(self.0, request).map_err(|_| TransportError(-1))?;
        let dst = response.get_mut(..reply.len()).ok_or(TransportError(-2))?;
        dst.copy_from_slice(&reply);
        Ok(reply.len())
    }
}

fn request() -> UseRequest {
    UseRequest {
        t: T { t: 1 },
        q: Q { q: 2 },
        s: S { s: 3 },
        c: C {
            t: T { t: 4 },
            q: Q { q: 5 },
        },
    }
}

#[test]
fn proxy_and_security_client_take_the_user_types() {
    let mut keeper = Keeper { used: Vec::new() };
    let r = request();
    let mut proxy = NamesProxy {
        transport: Loopback(&mut keeper),
        riid: riid::NAMES,
    };
    assert_eq!(
        proxy.r#use(r.t.clone(), r.q.clone(), r.s.clone(), r.c.clone()),
        Ok(UseResponse {})
    );
    assert_eq!(keeper.used, std::slice::from_ref(&r));

    let mut asked = Vec::new();
    let mut security = NamesSecurity {
        query: |bytes: &[u8]| -> Result<(), ()> {
            asked.push(UseRequest::decode(bytes).map_err(|_| ())?);
            Ok(())
        },
    };
    assert_eq!(
        security.r#use(r.t.clone(), r.q.clone(), r.s.clone(), r.c.clone()),
        Ok(())
    );
    assert_eq!(asked, [r]);
}
