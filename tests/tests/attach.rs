//! Interactive containers through the library: a terminal and stdin for the container's own
//! process and for execs, resizing, attaching twice, detaching, end-of-file, exit codes.

use std::time::Duration;

use futures::StreamExt;
use warren_runtime::{
    AttachOutput, AttachOutputStream, ErrorKind, ExecEvent, ExecRequest, LogStream,
};
use warren_tests::containers::Fixture;
use warren_tests::require_root;

/// Read `output` until its text contains `want` (within 20 s); everything read so far.
async fn read_until(output: &mut AttachOutputStream, want: &str) -> String {
    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(chunk) = output.next().await {
            match chunk.unwrap() {
                AttachOutput::Stdout(b) | AttachOutput::Stderr(b) => {
                    seen.push_str(&String::from_utf8_lossy(&b))
                }
            }
            if seen.contains(want) {
                return true;
            }
        }
        false
    })
    .await;
    assert!(matches!(found, Ok(true)), "never saw {want:?} in {seen:?}");
    seen
}

/// Everything left in `output` until it ends (within 20 s).
async fn read_to_end(output: &mut AttachOutputStream) -> (String, String) {
    let (mut out, mut err) = (String::new(), String::new());
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(chunk) = output.next().await {
            match chunk.unwrap() {
                AttachOutput::Stdout(b) => out.push_str(&String::from_utf8_lossy(&b)),
                AttachOutput::Stderr(b) => err.push_str(&String::from_utf8_lossy(&b)),
            }
        }
    })
    .await
    .expect("the output ends");
    (out, err)
}

#[tokio::test]
async fn a_terminal_container_is_attached_resized_detached_and_attached_again() {
    require_root!();
    let fx = Fixture::new("att-tty").await;
    let req = fx
        .request("shell", &["sh"])
        .tty(true)
        .open_stdin(true)
        .console_size((80, 24));
    let id = fx.rt.create_container(&req).await.unwrap();
    let (_pid, mut a) = fx.rt.start_attached(&id).await.unwrap();
    a.input
        .write(b"echo one$((1+1)); stty size\n")
        .await
        .unwrap();
    let seen = read_until(&mut a.output, "24 80").await;
    assert!(seen.contains("one2"), "{seen:?}");
    a.input.resize(100, 30).await.unwrap();
    a.input.write(b"stty size\n").await.unwrap();
    read_until(&mut a.output, "30 100").await;

    // Detach: the shell runs on; a second attachment gets the same shell.
    drop(a);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(fx.rt.is_running(&id).await);
    let mut b = fx.rt.attach_container(&id).await.unwrap();
    b.input.write(b"echo again\n").await.unwrap();
    read_until(&mut b.output, "again").await;
    b.input.write(b"exit 3\n").await.unwrap();
    read_to_end(&mut b.output).await;
    assert_eq!(fx.rt.wait_container(&id).await.unwrap().code, 3);

    // The log has what the terminal showed.
    let log =
        std::fs::read_to_string(fx.rt.container_dir(&id).unwrap().join("container.log")).unwrap();
    assert!(log.contains("one2") && log.contains("again"), "{log}");
    fx.rt.delete_container(&id).await.unwrap();
    fx.assert_clean("a terminal container").await;
    fx.cleanup().await;
}

#[tokio::test]
async fn stdin_without_a_terminal_reaches_eof_and_the_exit_code_comes_back() {
    require_root!();
    let fx = Fixture::new("att-stdin").await;
    let req = fx
        .request("cat", &["sh", "-c", "cat; echo done >&2; exit 4"])
        .open_stdin(true);
    let id = fx.rt.create_container(&req).await.unwrap();
    let (_pid, mut a) = fx.rt.start_attached(&id).await.unwrap();
    a.input.write(b"hello\nworld\n").await.unwrap();
    a.input.close_stdin().await.unwrap();
    let (out, err) = read_to_end(&mut a.output).await;
    let log = std::fs::read_to_string(fx.rt.container_dir(&id).unwrap().join("container.log"))
        .unwrap_or_default();
    assert_eq!(out, "hello\nworld\n", "stderr {err:?}, log {log:?}");
    assert_eq!(err, "done\n");
    assert_eq!(fx.rt.wait_container(&id).await.unwrap().code, 4);
    fx.rt.delete_container(&id).await.unwrap();
    fx.assert_clean("a stdin container").await;
    fx.cleanup().await;
}

#[tokio::test]
async fn execs_get_a_terminal_or_a_stdin_and_leave_nothing() {
    require_root!();
    let fx = Fixture::new("att-exec").await;
    let id = fx
        .rt
        .run_container(&fx.request("host", &["sleep", "600"]))
        .await
        .unwrap();
    let tty = ExecRequest::new(["sh"])
        .tty(true)
        .stdin(true)
        .console_size((120, 40));
    let mut s = fx.rt.exec_attached(&id, &tty).await.unwrap();
    s.attached
        .input
        .write(b"stty size; echo $((2+3))\n")
        .await
        .unwrap();
    read_until(&mut s.attached.output, "40 120").await;
    s.attached.input.resize(90, 20).await.unwrap();
    s.attached.input.write(b"stty size\n").await.unwrap();
    read_until(&mut s.attached.output, "20 90").await;
    s.attached.input.write(b"exit 5\n").await.unwrap();
    assert_eq!(s.wait().await.unwrap(), 5);

    let cat = ExecRequest::new(["cat"]).stdin(true);
    // A close right after a write never overtakes the bytes (a few rounds: it was a race).
    for round in 0..5 {
        let mut s = fx.rt.exec_attached(&id, &cat).await.unwrap();
        s.attached.input.write(b"through cat\n").await.unwrap();
        s.attached.input.close_stdin().await.unwrap();
        let (out, _) = read_to_end(&mut s.attached.output).await;
        assert_eq!(out, "through cat\n", "round {round}");
        assert_eq!(s.wait().await.unwrap(), 0);
    }

    // No FIFO of either exec is left beside the container's files.
    let files = warren_tests::files_under(&fx.rt.container_dir(&id).unwrap());
    assert!(
        files.iter().all(|f| !f.starts_with("exec-")),
        "exec FIFOs left: {files:?}"
    );
    fx.rt.delete_container(&id).await.unwrap();
    fx.assert_clean("attached execs").await;
    fx.cleanup().await;
}

#[tokio::test]
async fn an_abandoned_exec_is_killed_and_leaves_nothing() {
    require_root!();
    let fx = Fixture::new("att-drop").await;
    let id = fx
        .rt
        .run_container(&fx.request("host", &["sleep", "600"]))
        .await
        .unwrap();
    let long = ExecRequest::new(["sleep", "300"]);
    // The caller gives up once the exec is surely running (two processes in the container).
    let rt = fx.rt.clone();
    let watched = id.clone();
    let gave_up = tokio::time::timeout(Duration::from_secs(30), async move {
        let exec = rt.exec(&watched, &long);
        tokio::pin!(exec);
        loop {
            tokio::select! {
                r = &mut exec => panic!("the exec ended on its own: {r:?}"),
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    if rt.container_pids(&watched).await.unwrap().len() >= 2 {
                        return;
                    }
                }
            }
        }
    })
    .await;
    assert!(gave_up.is_ok(), "the exec never started");
    // Dropped: the sleep is killed, its record and FIFOs removed.
    assert_no_exec_left(&fx, &id).await;
    fx.rt.delete_container(&id).await.unwrap();
    fx.assert_clean("an abandoned exec").await;
    fx.cleanup().await;
}

/// Within 10 s, container `id` runs only its own process and has no exec FIFOs left.
async fn assert_no_exec_left(fx: &Fixture, id: &str) {
    let dir = fx.rt.container_dir(id).unwrap();
    let mut left: (Vec<u32>, Vec<String>) = (vec![], vec![]);
    for _ in 0..100 {
        let pids = fx.rt.container_pids(id).await.unwrap();
        let files: Vec<String> = warren_tests::files_under(&dir)
            .into_iter()
            .filter(|f| f.starts_with("exec-"))
            .collect();
        if pids.len() == 1 && files.is_empty() {
            left = (vec![], vec![]);
            break;
        }
        left = (pids, files);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, (vec![], vec![]), "(pids, exec files) left after 10 s");
}

#[tokio::test]
async fn exec_stream_gives_output_as_it_comes_and_a_drop_kills_it() {
    require_root!();
    let fx = Fixture::new("att-stream").await;
    let id = fx
        .rt
        .run_container(&fx.request("host", &["sleep", "600"]))
        .await
        .unwrap();
    let exec = |script: &str| ExecRequest::new(["sh", "-c", script]);

    // Output arrives while the process still runs.
    let mut running = fx.rt.exec_stream(&id, &exec("echo one; sleep 300"));
    let first = tokio::time::timeout(Duration::from_secs(20), running.next())
        .await
        .expect("output before the process ends")
        .expect("an item")
        .expect("no error");
    assert_eq!(
        first,
        ExecEvent::Output {
            stream: LogStream::Stdout,
            data: b"one\n".to_vec()
        }
    );
    drop(running);
    assert_no_exec_left(&fx, &id).await;

    // Both streams, then the exit, then the end.
    let events: Vec<ExecEvent> = fx
        .rt
        .exec_stream(&id, &exec("echo out; echo err >&2; exit 4"))
        .map(|e| e.expect("no error"))
        .collect()
        .await;
    let (mut out, mut err) = (Vec::new(), Vec::new());
    for e in &events[..events.len() - 1] {
        match e {
            ExecEvent::Output {
                stream: LogStream::Stdout,
                data,
            } => out.extend_from_slice(data),
            ExecEvent::Output { data, .. } => err.extend_from_slice(data),
            other => panic!("only output before the exit: {other:?}"),
        }
    }
    assert_eq!(
        (out.as_slice(), err.as_slice()),
        (&b"out\n"[..], &b"err\n"[..])
    );
    let Some(ExecEvent::Exited(exited)) = events.last() else {
        panic!("the last event is the exit: {events:?}");
    };
    assert_eq!(
        (exited.exit_code, exited.stdout.as_slice()),
        (4, &b"out\n"[..])
    );

    // A container that is not running: one error, nothing created.
    let err = fx
        .rt
        .exec_stream("nope", &exec("true"))
        .next()
        .await
        .expect("one item")
        .expect_err("an error");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    fx.rt.delete_container(&id).await.unwrap();
    fx.assert_clean("streamed execs").await;
    fx.cleanup().await;
}

/// A process that died while its exec was starting leaves the shim waiting for the exec's
/// FIFOs (on 1.6 the shim then stops answering for the whole container at its next process
/// exit: CI saw a restarted warrend lose a container's health checks). The next run's
/// `reattach_logs` releases it: the container answers, execs work again, nothing is left.
#[tokio::test]
async fn an_exec_left_half_started_by_a_dead_process_is_released_at_reattach() {
    use warren_proto::containerd::services::tasks::v1::{
        ExecProcessRequest, GetRequest, StartRequest,
    };
    require_root!();
    let fx = Fixture::new("att-stale").await;
    let id = fx
        .rt
        .run_container(&fx.request("host", &["sleep", "600"]))
        .await
        .unwrap();
    // What a dying process leaves: an exec recorded with FIFOs that nobody will ever read,
    // and a start the shim is still working on.
    let dir = fx.rt.container_dir(&id).unwrap();
    let exec_id = "exec-00000000deadbeef";
    let fifo = |s: &str| dir.join(format!("{exec_id}-{s}"));
    for s in ["stdout", "stderr"] {
        nix::unistd::mkfifo(
            &fifo(s),
            nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
        )
        .unwrap();
    }
    let process = serde_json::json!({
        "args": ["true"], "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0},
    });
    fx.clients
        .tasks()
        .exec(ExecProcessRequest {
            container_id: id.clone(),
            exec_id: exec_id.into(),
            stdout: fifo("stdout").display().to_string(),
            stderr: fifo("stderr").display().to_string(),
            spec: Some(warren_proto::any::pack_json(
                warren_proto::any::PROCESS_TYPE_URL,
                serde_json::to_vec(&process).unwrap(),
            )),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut tasks = fx.clients.tasks();
    let start = StartRequest {
        container_id: id.clone(),
        exec_id: exec_id.into(),
    };
    // The start cannot finish without a reader; the caller "dies" after 2 s.
    let started = tokio::time::timeout(Duration::from_secs(2), tasks.start(start)).await;
    assert!(
        started.is_err(),
        "the exec started with no reader: {started:?}"
    );

    // A new process with the same state folder, as a restarted warrend.
    let again = warren_runtime::ContainerdRuntime::with_options(
        warren_runtime::RuntimeOptions::default()
            .socket(warren_tests::daemon::shared().socket().to_path_buf())
            .namespace(fx.ns.clone())
            .state_dir(fx.state.path().to_path_buf())
            .log_driver(warren_runtime::LogDriver::Shim(
                warren_tests::logger_binary(),
            )),
    )
    .unwrap();
    again.reattach_logs().await.unwrap();
    let got = tokio::time::timeout(
        Duration::from_secs(10),
        fx.clients.tasks().get(GetRequest {
            container_id: id.clone(),
            ..Default::default()
        }),
    )
    .await;
    assert!(
        matches!(got, Ok(Ok(_))),
        "the task does not answer: {got:?}"
    );
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        again.exec(&id, &ExecRequest::new(["echo", "hi"])),
    )
    .await
    .expect("an exec after the release hangs")
    .unwrap();
    assert_eq!(out.stdout, b"hi\n");
    assert_no_exec_left(&fx, &id).await;
    fx.rt.delete_container(&id).await.unwrap();
    fx.assert_clean("a released exec").await;
    fx.cleanup().await;
}

#[tokio::test]
async fn output_ends_when_the_container_wrote_it_all_not_after_a_quiet_time() {
    require_root!();
    let fx = Fixture::new("att-end").await;
    // A child that would write after the shell exits, and output far larger than the pipes
    // and the logger's queue hold (most of it still in them at the exit).
    let late = fx.request(
        "late",
        &["sh", "-c", "echo a; (sleep 1; echo late) & exit 0"],
    );
    let id = fx.rt.create_container(&late).await.unwrap();
    let (_pid, mut a) = fx.rt.start_attached(&id).await.unwrap();
    let (out, _) = read_to_end(&mut a.output).await;
    // The child dies with the shell: the kernel ends a PID namespace with its init (ctr
    // shows the same). What matters is that the attachment ended on the exit, with "a".
    assert_eq!(out, "a\n");
    fx.rt.delete_container(&id).await.unwrap();

    let big = fx.request("big", &["sh", "-c", "seq 1 300000; echo done >&2"]);
    let id = fx.rt.create_container(&big).await.unwrap();
    let (_pid, mut a) = fx.rt.start_attached(&id).await.unwrap();
    let (out, err) = read_to_end(&mut a.output).await;
    assert_eq!(out.lines().count(), 300000);
    assert_eq!(out.lines().last(), Some("300000"));
    assert_eq!(err, "done\n");
    fx.rt.delete_container(&id).await.unwrap();
    fx.assert_clean("output ends").await;
    fx.cleanup().await;
}
