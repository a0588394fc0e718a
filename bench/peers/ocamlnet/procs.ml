(* bench/peers/ocamlnet/procs.ml - N forked worker processes for the
   multi-process workloads, like bench/common/procs.c:
   1. a shared control region (an unlinked file in /dev/shm, mapped shared)
      holds the stop flag, each worker's finish time, count and samples;
   2. nprocs workers are forked (Unix.fork: they inherit every mapping of the
      caller, e.g. the OCamlnet pool and camlboxes), run [init] (untimed),
      check in on a pipe and block until released;
   3. once all have checked in the parent reads the clock (t0) and releases
      them; in until-stop mode it raises the stop flag [seconds] later;
   4. each worker runs [fn], which returns its operation count (and may set
      the run's fairness counts), and stamps its finish time; workers leave
      with Unix._exit (no at_exit handlers of the Netplex container run in
      them);
   5. wall_s = last finish - t0. A worker that fails or outlives [timeout]
      fails the run: all are killed and reaped. *)

type worker = {
  index : int;
  nprocs : int;
  ops : int;                 (* operations to do; 0: until stopped *)
  ctl : (float, Bigarray.float64_elt, Bigarray.c_layout) Bigarray.Array1.t;
  max_samples : int;
}

type result = {
  wall_s : float;
  counts : int array;
  samples : float array;     (* nanoseconds, all workers *)
  fairness : int array;      (* the counts fairness compares: set_fairness's,
                                else [counts]; [||]: no fairness figure *)
}

(* ctl layout: [0] stop flag; [1 + i] finish time; [1 + n + i] count;
   [1 + 2n + i] samples taken; then n * max_samples samples; then the
   number of fairness counts set (-1: none set) and n fairness counts. *)
let fairness_at ~nprocs ~max_samples = 1 + (3 * nprocs) + (nprocs * max_samples)
let ctl_len ~nprocs ~max_samples = fairness_at ~nprocs ~max_samples + 1 + nprocs

let stopped w = Bigarray.Array1.unsafe_get w.ctl 0 <> 0.

let sample w ns =
  let k = 1 + (2 * w.nprocs) + w.index in
  let taken = int_of_float (Bigarray.Array1.unsafe_get w.ctl k) in
  if taken < w.max_samples then begin
    Bigarray.Array1.unsafe_set w.ctl ((1 + (3 * w.nprocs)) + (w.index * w.max_samples) + taken) ns;
    Bigarray.Array1.unsafe_set w.ctl k (float_of_int (taken + 1))
  end

(* Sets the run's fairness counts (at most nprocs; the rest are dropped),
   one per party whose share the fairness figure compares, in place of the
   workers' counts: e.g. a receiver's messages per sender; [||] for a run
   without a fairness figure (a strictly alternating ping-pong). One worker
   per run calls it. *)
let set_fairness w counts =
  let at = fairness_at ~nprocs:w.nprocs ~max_samples:w.max_samples in
  let n = min w.nprocs (Array.length counts) in
  for i = 0 to n - 1 do
    w.ctl.{at + 1 + i} <- float_of_int counts.(i)
  done;
  w.ctl.{at} <- float_of_int n

let map_shared n =
  let path = Filename.temp_file ~temp_dir:"/dev/shm" "ocnbench_ctl" "" in
  let fd = Unix.openfile path [ Unix.O_RDWR ] 0o600 in
  Unix.unlink path;
  let a =
    Bigarray.array1_of_genarray
      (Unix.map_file fd Bigarray.float64 Bigarray.c_layout true [| n |])
  in
  Unix.close fd;
  Bigarray.Array1.fill a 0.;
  a

exception Run_failed of string

let rec restart f x = try f x with Unix.Unix_error (Unix.EINTR, _, _) -> restart f x

let run ?(init = fun _ -> ()) ?(ops = 0) ?(seconds = 0.25) ?(timeout = 60.) ?(max_samples = 0)
    ~nprocs (fn : worker -> int) =
  let ctl = map_shared (ctl_len ~nprocs ~max_samples) in
  let fair_at = fairness_at ~nprocs ~max_samples in
  ctl.{fair_at} <- -1.;
  let ready_r, ready_w = Unix.pipe () and go_r, go_w = Unix.pipe () in
  flush_all ();
  let pids =
    Array.init nprocs (fun index ->
        match Unix.fork () with
        | 0 ->
            let code =
              try
                Unix.close ready_r;
                Unix.close go_w;
                let w = { index; nprocs; ops; ctl; max_samples } in
                init w;
                ignore (restart (Unix.write_substring ready_w "r" 0) 1);
                let b = Bytes.create 1 in
                if restart (Unix.read go_r b 0) 1 <> 1 then failwith "no start signal";
                let n = fn w in
                ctl.{1 + index} <- Gb.now_mono ();
                ctl.{1 + nprocs + index} <- float_of_int n;
                0
              with e ->
                Printf.eprintf "ocamlnet worker %d: %s\n%!" index (Printexc.to_string e);
                1
            in
            Unix._exit code
        | pid -> pid)
  in
  Unix.close ready_w;
  Unix.close go_r;
  let kill_all () =
    Array.iter (fun p -> try Unix.kill p Sys.sigkill with _ -> ()) pids
  in
  let reap () =
    Array.map
      (fun p -> try snd (restart (Unix.waitpid []) p) with Unix.Unix_error _ -> Unix.WEXITED 0)
      pids
  in
  let fail msg =
    kill_all ();
    ignore (reap ());
    Unix.close ready_r;
    Unix.close go_w;
    raise (Run_failed msg)
  in
  (* barrier: every worker checked in *)
  let b = Bytes.create nprocs in
  let got = ref 0 in
  let deadline = Gb.now_mono () +. timeout in
  while !got < nprocs do
    let left = deadline -. Gb.now_mono () in
    if left <= 0. then fail "workers did not check in";
    match restart (Unix.select [ ready_r ] [] []) left with
    | [], _, _ -> ()
    | _ ->
        let n = restart (Unix.read ready_r b 0) (nprocs - !got) in
        if n = 0 then fail "a worker died during set-up";
        got := !got + n
  done;
  let t0 = Gb.now_mono () in
  ignore (restart (Unix.write go_w (Bytes.make nprocs 'g') 0) nprocs);
  if ops = 0 then begin
    let rec sleep s = if s > 0. then (try Unix.sleepf s with Unix.Unix_error (Unix.EINTR, _, _) -> ());
      let left = t0 +. seconds -. Gb.now_mono () in
      if left > 0. then sleep left in
    sleep seconds;
    ctl.{0} <- 1.
  end;
  (* watchdog: a worker that outlives the timeout is killed *)
  let statuses =
    let st = Array.make nprocs None in
    let pending = ref nprocs in
    while !pending > 0 do
      Array.iteri
        (fun i p ->
          if st.(i) = None then
            match (try Unix.waitpid [ Unix.WNOHANG ] p with Unix.Unix_error _ -> (p, Unix.WEXITED 0)) with
            | 0, _ -> ()
            | _, s -> st.(i) <- Some s; decr pending)
        pids;
      if !pending > 0 then begin
        if Gb.now_mono () -. t0 > timeout then fail "a worker outlived the timeout";
        Unix.sleepf 0.0005
      end
    done;
    Array.map (function Some s -> s | None -> Unix.WEXITED 0) st
  in
  Unix.close ready_r;
  Unix.close go_w;
  Array.iteri
    (fun i s ->
      match s with
      | Unix.WEXITED 0 -> ()
      | Unix.WEXITED c -> raise (Run_failed (Printf.sprintf "worker %d exited with %d" i c))
      | Unix.WSIGNALED g | Unix.WSTOPPED g ->
          raise (Run_failed (Printf.sprintf "worker %d killed by signal %d" i g)))
    statuses;
  let last = ref t0 in
  for i = 0 to nprocs - 1 do
    last := Float.max !last ctl.{1 + i}
  done;
  let counts = Array.init nprocs (fun i -> int_of_float ctl.{1 + nprocs + i}) in
  let samples =
    Array.concat
      (List.init nprocs (fun i ->
           let taken = int_of_float ctl.{1 + (2 * nprocs) + i} in
           Array.init taken (fun k -> ctl.{1 + (3 * nprocs) + (i * max_samples) + k})))
  in
  let fairness =
    let n = int_of_float ctl.{fair_at} in
    if n < 0 then counts else Array.init n (fun i -> int_of_float ctl.{fair_at + 1 + i})
  in
  { wall_s = !last -. t0; counts; samples; fairness }

(* ---- totals over the iterations of one benchmark run (procs_bench.c) ---- *)

type totals = {
  mutable t_nprocs : int;
  mutable t_ops : int;
  mutable t_fairness : int array;   (* fairness counts summed over the runs *)
  mutable t_samples : float list list;
}

let totals () = { t_nprocs = 0; t_ops = 0; t_fairness = [||]; t_samples = [] }

(* One iteration: a run, its manual time, its counts. *)
let iteration st tot r =
  Gb.add_manual_time st r.wall_s;
  tot.t_nprocs <- Array.length r.counts;
  tot.t_ops <- Array.fold_left ( + ) tot.t_ops r.counts;
  if Array.length tot.t_fairness <> Array.length r.fairness then
    tot.t_fairness <- Array.make (Array.length r.fairness) 0;
  Array.iteri (fun i c -> tot.t_fairness.(i) <- tot.t_fairness.(i) + c) r.fairness;
  if Array.length r.samples > 0 then tot.t_samples <- Array.to_list r.samples :: tot.t_samples

let stddev_pct counts =
  let n = Array.length counts in
  if n = 0 then 0.
  else
    let fs = Array.map float_of_int counts in
    let m = Array.fold_left ( +. ) 0. fs /. float_of_int n in
    if m = 0. then 0.
    else
      let var = Array.fold_left (fun a x -> a +. ((x -. m) ** 2.)) 0. fs /. float_of_int n in
      100. *. sqrt var /. m

let percentile sorted p =
  let n = Array.length sorted in
  if n = 0 then 0.
  else
    let k = int_of_float (Float.ceil (p /. 100. *. float_of_int n)) - 1 in
    sorted.(max 0 (min (n - 1) k))

let report st tot =
  Gb.set_items_processed st (float_of_int tot.t_ops);
  Gb.counter st "procs" Gb.Plain (float_of_int tot.t_nprocs);
  if tot.t_fairness <> [||] then
    Gb.counter st "fairness_stddev_pct" Gb.Plain (stddev_pct tot.t_fairness);
  match tot.t_samples with
  | [] -> ()
  | l ->
      let a = Array.of_list (List.concat l) in
      Array.sort compare a;
      Gb.counter st "p50_ns" Gb.Plain (percentile a 50.);
      Gb.counter st "p99_ns" Gb.Plain (percentile a 99.)

(* The usual body: st.iters runs of [spec], reported like procs_bench.c. *)
let bench_run st ?check spec =
  let tot = totals () in
  Gb.measure st (fun n ->
      for _ = 1 to n do
        let r = spec () in
        iteration st tot r;
        match check with Some f -> f tot | None -> ()
      done);
  report st tot
