//! The Tasks service: the processes of containers.

use warren_proto::containerd::services::tasks::v1::*;

super::rpcs!(Tasks, tasks {
    /// Create a container's task (its init process, not yet started). Made once.
    once create(CreateTaskRequest) -> CreateTaskResponse = "Tasks.Create";
    /// Start a created task or exec'd process. Made once.
    once start(StartRequest) -> StartResponse = "Tasks.Start";
    /// Delete an exited task; answers with its exit.
    retrying delete(DeleteTaskRequest) -> DeleteResponse = "Tasks.Delete";
    /// Delete an exited exec'd process.
    retrying delete_process(DeleteProcessRequest) -> DeleteResponse = "Tasks.DeleteProcess";
    /// One task's state.
    retrying get(GetRequest) -> GetResponse = "Tasks.Get";
    /// Every task of the namespace (optionally filtered).
    retrying list(ListTasksRequest) -> ListTasksResponse = "Tasks.List";
    /// Signal a task's init process, one exec'd process, or all of its processes.
    retrying kill(KillRequest) -> () = "Tasks.Kill";
    /// Add a process to a running task (not started yet). Made once.
    once exec(ExecProcessRequest) -> () = "Tasks.Exec";
    /// Resize a process's terminal.
    retrying resize_pty(ResizePtyRequest) -> () = "Tasks.ResizePty";
    /// Close a process's stdin.
    retrying close_io(CloseIoRequest) -> () = "Tasks.CloseIO";
    /// Freeze every process of a task.
    retrying pause(PauseTaskRequest) -> () = "Tasks.Pause";
    /// Thaw a paused task.
    retrying resume(ResumeTaskRequest) -> () = "Tasks.Resume";
    /// The processes of a task.
    retrying list_pids(ListPidsRequest) -> ListPidsResponse = "Tasks.ListPids";
    /// Change a running task's resources.
    retrying update(UpdateTaskRequest) -> () = "Tasks.Update";
    /// A task's cgroup statistics.
    retrying metrics(MetricsRequest) -> MetricsResponse = "Tasks.Metrics";
    /// Wait for a process to exit; answers at once for one that already has.
    retrying wait(WaitRequest) -> WaitResponse = "Tasks.Wait";
});
