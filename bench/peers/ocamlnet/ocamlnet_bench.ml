(* bench/peers/ocamlnet/ocamlnet_bench.ml - the original OCamlnet 4.1.9
   (Debian's libocamlnet-ocaml-dev) on the workloads of our C benchmarks,
   as the peer "ocamlnet" in REPORT.md. Every workload mirrors the C
   benchmark of the same name (see the file named in each section); the
   output is Google Benchmark JSON (gb.ml), one row per repetition or the
   mean / median / stddev aggregates.

   The program is a Netmulticore application like any other: the master
   creates the memory pools (Netmcore_mempool.create_mempool, before
   Netmcore.startup, as the pools must be inherited), then the first worker
   process runs every selected benchmark and writes the JSON. Multi-process
   workloads fork from that worker (procs.ml), so the children inherit the
   pools, heaps and camlboxes at the same addresses.

   usage: ocamlnet_bench [--filter REGEX] [--min-time S] [--repetitions N]
                         [--aggregates-only] [--out FILE] [--list] *)

let pagesize = Netsys_mem.pagesize

(* ---- pools: made in the master, looked up by the benchmarks ------------- *)

type pool_kind =
  | No_pool
  | Fresh_16MiB        (* an empty 16 MiB pool of its own, alloc_really *)
  | Heap_pool          (* the shared pool that holds heaps *)

let heap_pool_bytes = 1 lsl 30
let pools : (string, Netmcore.res_id) Hashtbl.t = Hashtbl.create 16
let pool_of name = Hashtbl.find pools name
let heap_pool () = Hashtbl.find pools "*heap*"

let kinds : (string, pool_kind) Hashtbl.t = Hashtbl.create 64

let reg ?manual_time ?repetitions ?(pool = No_pool) name body =
  Hashtbl.replace kinds name pool;
  Gb.register ?manual_time ?repetitions name body

let items_per_iteration st = Gb.set_items_processed st (float_of_int (Gb.iterations st))

(* What both workers of a ping-pong return: the round trips, counted once;
   a strictly alternating pair has no fairness figure. *)
let pingpong_done w =
  if w.Procs.index = 0 then begin
    Procs.set_fairness w [||];
    w.Procs.ops
  end
  else 0

(* ---- copier (bench/copier/copier_bench.c) -------------------------------- *)

type tree = Leaf | Node of { left : tree; right : tree; key : int; weight : float }

let string_1mib () = (Obj.repr (String.init (1 lsl 20) (fun i -> Char.chr (97 + (i mod 26)))), 1)

let int_array_100k () = (Obj.repr (Array.init 100_000 (fun i -> i)), 1)

let string_list_10k_64b () =
  let l = ref [] in
  for i = 10_000 - 1 downto 0 do
    let b = Bytes.make 64 'x' in
    let s = Printf.sprintf "element %d\000" i in
    Bytes.blit_string s 0 b 0 (String.length s);
    l := Bytes.to_string b :: !l
  done;
  (Obj.repr !l, 20_000)

let record_tree_16k () =
  let n = 16384 in
  let node = Array.make n Leaf in
  for i = n - 1 downto 0 do
    let l = (2 * i) + 1 and r = (2 * i) + 2 in
    node.(i) <-
      Node { left = (if l < n then node.(l) else Leaf); right = (if r < n then node.(r) else Leaf);
             key = i; weight = float_of_int i *. 0.5 }
  done;
  (Obj.repr node.(0), 2 * n)

let copier_bench build per_block flags st =
  let v, blocks = build () in
  let probe = Netsys_mem.alloc_memory_pages pagesize in
  let _, bytelen = Netsys_mem.init_value probe 0 v [ Netsys_mem.Copy_simulate ] in
  let mem = Netsys_mem.alloc_memory_pages bytelen in
  Bigarray.Array1.fill mem '\000';
  (* one checked copy before timing *)
  let voff, len = Netsys_mem.init_value mem 0 v [] in
  if len <> bytelen then failwith "image length differs from the simulated one";
  (* compare does not look outside the heap: check a heap copy of the copy *)
  if compare (Netsys_mem.copy_value [] (Netsys_mem.as_value mem voff : Obj.t)) v <> 0 then
    failwith "the copy differs";
  Gb.measure st (fun n ->
      for _ = 1 to n do
        ignore (Sys.opaque_identity (Netsys_mem.init_value mem 0 v flags))
      done);
  let it = float_of_int (Gb.iterations st) in
  Gb.set_bytes_processed st (it *. float_of_int bytelen);
  if per_block then Gb.counter st "ns_per_block" Gb.Rate_invert (it *. float_of_int blocks /. 1e9)

let () =
  List.iter
    (fun (w, build, per_block) ->
      reg (Printf.sprintf "copier/%s/ocamlnet" w) (copier_bench build per_block []);
      reg (Printf.sprintf "copier/%s/ocamlnet_simulate" w)
        (copier_bench build per_block [ Netsys_mem.Copy_simulate ]))
    [ ("string_1MiB", string_1mib, false); ("int_array_100k", int_array_100k, false);
      ("string_list_10k_64B", string_list_10k_64b, true);
      ("record_tree_16k", record_tree_16k, true) ]

(* ---- mempool (bench/mempool/mempool_bench.c) ----------------------------- *)

let () =
  let alloc_free name pages =
    reg ~pool:Fresh_16MiB name (fun st ->
        let pool = pool_of name and bytes = pages * pagesize in
        Gb.measure st (fun n ->
            for _ = 1 to n do
              Netmcore_mempool.free_mem pool (Netmcore_mempool.alloc_mem pool bytes)
            done);
        items_per_iteration st)
  in
  alloc_free "mempool/alloc_free_1page/ocamlnet" 1;
  alloc_free "mempool/alloc_free_16pages/ocamlnet" 16;
  let name = "mempool/fill_16MiB/ocamlnet" in
  reg ~pool:Fresh_16MiB name (fun st ->
      let pool = pool_of name in
      let k = ref 0 in
      Gb.measure st (fun n ->
          for _ = 1 to n do
            let blocks = ref [] in
            k := 0;
            (try
               while true do
                 blocks := Netmcore_mempool.alloc_mem pool pagesize :: !blocks;
                 incr k
               done
             with Netmcore_mempool.Out_of_pool_memory -> ());
            List.iter (Netmcore_mempool.free_mem pool) !blocks
          done);
      Gb.counter st "blocks" Gb.Plain (float_of_int !k);
      Gb.set_items_processed st (float_of_int (Gb.iterations st * !k)))

(* ---- locks and semaphores (bench/sync/lock_bench.c, sem_cond_bench.c) ---- *)

(* Sync objects live in a heap: the root starts with dummies, which
   [Netmcore_heap.modify] replaces by real ones (the tutorial's pattern). *)
type sync_root = {
  mutable m : Netmcore_mutex.mutex;
  mutable ping : Netmcore_sem.semaphore;
  mutable pong : Netmcore_sem.semaphore;
  mutable cond : Netmcore_condition.condition;
  mutable wset : Netmcore_condition.wait_set;
  mutable counter : int;
  mutable turn : int;
}

let with_sync_heap kind f =
  let h =
    Netmcore_heap.create_heap (heap_pool ()) (64 * 1024)
      { m = Netmcore_mutex.dummy (); ping = Netmcore_sem.dummy (); pong = Netmcore_sem.dummy ();
        cond = Netmcore_condition.dummy_condition ();
        wset = Netmcore_condition.dummy_wait_set (); counter = 0; turn = 0 }
  in
  let r = Netmcore_heap.root h in
  Netmcore_heap.modify h (fun mut ->
      r.m <- Netmcore_mutex.create mut kind;
      r.ping <- Netmcore_sem.create mut 0;
      r.pong <- Netmcore_sem.create mut 0;
      r.cond <- Netmcore_condition.create_condition mut;
      r.wset <- Netmcore_condition.create_wait_set mut);
  Fun.protect
    ~finally:(fun () ->
      Netmcore_mutex.destroy r.m;
      Netmcore_sem.destroy r.ping;
      Netmcore_sem.destroy r.pong;
      Netmcore_condition.destroy_condition r.cond;
      Netmcore_condition.destroy_wait_set r.wset;
      Netmcore_heap.destroy h)
    (fun () -> f h r)

let () =
  List.iter
    (fun (suffix, kind) ->
      reg ~pool:Heap_pool ("lock/uncontended/ocamlnet_" ^ suffix) (fun st ->
          with_sync_heap kind (fun _ r ->
              let m = r.m in
              Gb.measure st (fun n ->
                  for _ = 1 to n do
                    Netmcore_mutex.lock m;
                    Netmcore_mutex.unlock m
                  done));
          items_per_iteration st))
    [ ("normal", `Normal); ("errorcheck", `Errorcheck); ("recursive", `Recursive) ];
  (* two processes increment one counter under the lock for 0.25 s a run;
     the counter must equal the increments reported *)
  reg ~pool:Heap_pool ~manual_time:true ~repetitions:7 "lock/contended_2proc/ocamlnet" (fun st ->
      with_sync_heap `Normal (fun _ r ->
          let m = r.m in
          Procs.bench_run st
            ~check:(fun tot ->
              if r.counter <> tot.Procs.t_ops then failwith "lost increments: the lock failed")
            (fun () ->
              Procs.run ~nprocs:2 ~seconds:0.25 (fun w ->
                  let n = ref 0 in
                  while not (Procs.stopped w) do
                    Netmcore_mutex.lock m;
                    r.counter <- r.counter + 1;
                    Netmcore_mutex.unlock m;
                    incr n
                  done;
                  !n))));
  reg ~pool:Heap_pool "sem/post_wait/ocamlnet" (fun st ->
      with_sync_heap `Normal (fun _ r ->
          let s = r.ping in
          Gb.measure st (fun n ->
              for _ = 1 to n do
                Netmcore_sem.post s;
                Netmcore_sem.wait s Netsys_posix.SEM_WAIT_BLOCK
              done));
      items_per_iteration st);
  (* the ping-pongs: process 0 times each round trip *)
  let rounds = 20_000 in
  reg ~pool:Heap_pool ~manual_time:true "sem/pingpong_2proc/ocamlnet" (fun st ->
      with_sync_heap `Normal (fun _ r ->
          Procs.bench_run st (fun () ->
              Procs.run ~nprocs:2 ~ops:rounds ~max_samples:rounds (fun w ->
                  for _ = 1 to w.Procs.ops do
                    if w.Procs.index = 0 then begin
                      let t0 = Gb.now_mono () in
                      Netmcore_sem.post r.ping;
                      Netmcore_sem.wait r.pong Netsys_posix.SEM_WAIT_BLOCK;
                      Procs.sample w ((Gb.now_mono () -. t0) *. 1e9)
                    end
                    else begin
                      Netmcore_sem.wait r.ping Netsys_posix.SEM_WAIT_BLOCK;
                      Netmcore_sem.post r.pong
                    end
                  done;
                  pingpong_done w))));
  reg ~pool:Heap_pool ~manual_time:true "cond/pingpong_2proc/ocamlnet" (fun st ->
      with_sync_heap `Normal (fun h r ->
          let entries =
            Netmcore_heap.modify h (fun mut ->
                Array.init 2 (fun _ -> Netmcore_condition.alloc_wait_entry mut r.wset))
          in
          let turn we me =
            Netmcore_mutex.lock r.m;
            while r.turn <> me do
              Netmcore_condition.wait we r.cond r.m
            done;
            r.turn <- 1 - me;
            Netmcore_condition.signal r.cond;
            Netmcore_mutex.unlock r.m
          in
          Procs.bench_run st (fun () ->
              r.turn <- 0;
              Procs.run ~nprocs:2 ~ops:rounds ~max_samples:rounds (fun w ->
                  let me = w.Procs.index in
                  for i = 1 to w.Procs.ops do
                    (* from one pass of the turn to the next; process 0's
                       first turn waits for nobody *)
                    if me = 0 && i > 1 then begin
                      let t0 = Gb.now_mono () in
                      turn entries.(me) me;
                      Procs.sample w ((Gb.now_mono () -. t0) *. 1e9)
                    end
                    else turn entries.(me) me
                  done;
                  pingpong_done w))))

(* ---- camlboxes (bench/camlbox/camlbox_bench.c) ----------------------------
   camlbox/throughput_str32/ocamlnet/N  N senders stream 32-byte strings to
                                        one receiver; fairness: the senders'
                                        shares of the first half received
   camlbox/throughput_tuple/ocamlnet/N  the same with (int, string, float)
   camlbox/payload/ocamlnet/B           one sender, strings of B bytes
   camlbox/pingpong/ocamlnet            one 32-byte string there and back
   Every message carries a tag (sender lsl 40 lor sequence): a string in its
   first and last word, a tuple in its int (and, as a float, its float). *)

let depth = 256
let stream_ops = 200_000
let tuple_text = "tuple payload 16"
let box_counter = ref 0

let box_name () =
  incr box_counter;
  Printf.sprintf "ocnbench_cb%d_%d" (Unix.getpid ()) !box_counter

(* the bytes a slot needs for values like v: the size of its image *)
let image_bytes v =
  snd (Netsys_mem.init_value (Netsys_mem.alloc_memory_pages pagesize) 0 v
         [ Netsys_mem.Copy_simulate ])

(* the tag in the first and last word; a 32-byte message varies whole *)
let fill buf tag =
  let len = Bytes.length buf in
  Bytes.set_int64_le buf 0 tag;
  Bytes.set_int64_le buf (len - 8) tag;
  let at = ref 8 in
  while !at + 8 < len && !at < 32 do
    Bytes.set_int64_le buf !at (Int64.add tag (Int64.of_int !at));
    at := !at + 8
  done

(* what a receiver checked so far *)
type rx = {
  senders : int;              (* valid sender numbers *)
  half : int;                 (* messages tallied per sender: the first half *)
  per_sender : int array;     (* each sender's share of them *)
  mutable got : int;
  mutable sink : int64;       (* checksum of every word *)
}

let new_rx ~senders ~want =
  { senders; half = want / 2; per_sender = Array.make senders 0; got = 0; sink = 0L }

(* Counts one checked message of sender. Only the first half of a stream is
   tallied per sender: a snapshot in the steady state, as each sender sends
   a fixed count and the shares at the end are equal whatever the order. *)
let tally rx sender =
  if rx.got < rx.half then rx.per_sender.(sender) <- rx.per_sender.(sender) + 1;
  rx.got <- rx.got + 1

let check_string len rx m =
  if String.length m <> len then failwith "bad message length";
  let first = String.get_int64_le m 0 and last = String.get_int64_le m (len - 8) in
  let sender = Int64.to_int (Int64.shift_right_logical first 40) in
  if first <> last || sender >= rx.senders then failwith "corrupt message";
  let s = ref 0L in
  for w = 0 to (len / 8) - 1 do
    s := Int64.logxor !s (String.get_int64_le m (8 * w))
  done;
  rx.sink <- Int64.add rx.sink !s;
  tally rx sender

let check_tuple rx ((tag, text, f) : int * string * float) =
  if String.length text <> String.length tuple_text || f <> float_of_int tag || tag < 0
     || tag lsr 40 >= rx.senders
  then failwith "corrupt tuple";
  rx.sink <- Int64.add rx.sink (Int64.of_int (tag + Char.code text.[0]));
  tally rx (tag lsr 40)

(* receives until [rx.got] reaches [want], checking every message *)
let receive box rx check want =
  while rx.got < want do
    List.iter
      (fun k ->
        check rx (Netcamlbox.camlbox_get box k);
        Netcamlbox.camlbox_delete box k)
      (Netcamlbox.camlbox_wait box)
  done

let send_strings len box sender ops =
  let buf = Bytes.create len and hi = Int64.shift_left (Int64.of_int sender) 40 in
  for i = 0 to ops - 1 do
    fill buf (Int64.logor hi (Int64.of_int i));
    Netcamlbox.camlbox_send box (Bytes.unsafe_to_string buf)
  done

let send_tuples box sender ops =
  let text = Bytes.of_string tuple_text in
  for i = 0 to ops - 1 do
    let tag = (sender lsl 40) lor i in
    Bytes.set text 0 (Char.unsafe_chr (i land 255));
    Netcamlbox.camlbox_send box (tag, Bytes.unsafe_to_string text, float_of_int tag)
  done

let with_boxes ~slot n f =
  let names = List.init n (fun _ -> box_name ()) in
  let boxes = List.map (fun a -> Netcamlbox.create_camlbox a depth slot) names in
  Fun.protect
    ~finally:(fun () -> List.iter (fun a -> try Netcamlbox.unlink_camlbox a with _ -> ()) names)
    (fun () -> f (Array.of_list names) (Array.of_list boxes))

(* One run of a stream: worker 0 receives [ops] messages from each of
   [senders] workers, checked by [check]; sender i (from 0) runs [send box i
   ops]. A fresh box per run: nothing is left over from a previous one. *)
let stream_run ~senders ~ops ~slot ~check ~send () =
  with_boxes ~slot 1 (fun names boxes ->
      let sender = ref None in
      Procs.run ~nprocs:(senders + 1) ~ops ~timeout:120.
        ~init:(fun w ->
          if w.Procs.index > 0 then sender := Some (Netcamlbox.camlbox_sender names.(0)))
        (fun w ->
          if w.Procs.index = 0 then begin
            let want = w.Procs.ops * senders in
            let rx = new_rx ~senders ~want in
            receive boxes.(0) rx check want;
            ignore (Sys.opaque_identity rx.sink);
            Procs.set_fairness w rx.per_sender;
            rx.got
          end
          else begin
            send (Option.get !sender) (w.Procs.index - 1) w.Procs.ops;
            0
          end))

let () =
  let strings name ~senders ~len ~ops =
    reg ~manual_time:true name (fun st ->
        let slot = image_bytes (String.make len 'x') in
        Procs.bench_run st
          (stream_run ~senders ~ops ~slot ~check:(check_string len) ~send:(send_strings len)))
  in
  List.iter
    (fun senders ->
      strings (Printf.sprintf "camlbox/throughput_str32/ocamlnet/%d" senders) ~senders ~len:32
        ~ops:stream_ops)
    [ 1; 2; 4 ];
  List.iter
    (fun senders ->
      reg ~manual_time:true (Printf.sprintf "camlbox/throughput_tuple/ocamlnet/%d" senders)
        (fun st ->
          let slot = image_bytes (0, tuple_text, 0.) in
          Procs.bench_run st
            (stream_run ~senders ~ops:stream_ops ~slot ~check:check_tuple ~send:send_tuples)))
    [ 1; 2; 4 ];
  List.iter
    (fun len ->
      strings (Printf.sprintf "camlbox/payload/ocamlnet/%d" len) ~senders:1 ~len
        ~ops:(max 5000 (stream_ops * 32 / len)))
    [ 32; 256; 4096; 65536 ];
  reg ~manual_time:true "camlbox/pingpong/ocamlnet" (fun st ->
      let slot = image_bytes (String.make 32 'x') in
      Procs.bench_run st (fun () ->
          with_boxes ~slot 2 (fun names boxes ->
              (* 0 sends on box 0 and receives on box 1; 1 the other way *)
              let sender = ref None in
              Procs.run ~nprocs:2 ~ops:20_000 ~max_samples:20_000 ~timeout:120.
                ~init:(fun w ->
                  sender :=
                    Some (Netcamlbox.camlbox_sender names.(if w.Procs.index = 0 then 0 else 1)))
                (fun w ->
                  let client = w.Procs.index = 0 in
                  let out = Option.get !sender and inbox = boxes.(if client then 1 else 0) in
                  let buf = Bytes.create 32 and rx = new_rx ~senders:1 ~want:0 in
                  for i = 0 to w.Procs.ops - 1 do
                    let t0 = Gb.now_mono () in
                    if client then begin
                      fill buf (Int64.of_int i);
                      Netcamlbox.camlbox_send out (Bytes.unsafe_to_string buf)
                    end;
                    receive inbox rx (check_string 32) (i + 1);
                    if not client then begin
                      fill buf (Int64.of_int i);
                      Netcamlbox.camlbox_send out (Bytes.unsafe_to_string buf)
                    end;
                    if client then Procs.sample w ((Gb.now_mono () -. t0) *. 1e9)
                  done;
                  pingpong_done w))))

(* ---- processes (bench/core/process_bench.c) --------------------------------
   process/start_join/ocamlnet  Netmcore_process.start + join of a process
                                that echoes its int argument, from the
                                benchmark process (a Netmcore worker: the
                                master forks the new one, the result comes
                                back through it). Manual time: the batch as
                                the benchmark process timed it. *)

(* fork points are defined in the master, before any process starts *)
let echo_fork, echo_join = Netmcore_process.def_process (fun (i : int) -> i)

let () =
  reg ~manual_time:true "process/start_join/ocamlnet" (fun st ->
      Gb.measure st (fun n ->
          let t0 = Gb.now_mono () in
          for i = 1 to n do
            let pid = Netmcore_process.start echo_fork i in
            if Netmcore_process.join echo_join pid <> Some i then failwith "the echo failed"
          done;
          Gb.add_manual_time st (Gb.now_mono () -. t0));
      items_per_iteration st)

(* ---- heap values and data structures ---------------------------------------
   heap/ref_assign_intlist10   Netmcore_ref.assign of a 10-int list: a copy
                               into the heap under its lock; the old value
                               becomes garbage for the heap's GC.
   ds/hashtbl_add_100k         Netmcore_hashtbl.add of keys 0 .. 99999 (int
                               to int) to an empty table; after 100k adds
                               the table is cleared with the timer paused.
   ds/hashtbl_find_100k        find_ro in a table of 100k bindings, keys in
                               the scattered order of shmtable's find.
   ds/queue_push_pop           Netmcore_queue.push of an int then pop_c. *)

let keys = 100_000
let stride = 7919
let scattered i = i * stride mod keys

let () =
  reg ~pool:Heap_pool "heap/ref_assign_intlist10/ocamlnet" (fun st ->
      let l = [ 1; 2; 3; 4; 5; 6; 7; 8; 9; 10 ] in
      let r = Netmcore_ref.sref (heap_pool ()) [] in
      Fun.protect
        ~finally:(fun () -> Netmcore_heap.destroy (Netmcore_ref.heap r))
        (fun () ->
          Gb.measure st (fun n ->
              for _ = 1 to n do
                Netmcore_ref.assign r l
              done);
          if Netmcore_ref.deref_c r <> l then failwith "the reference holds another value");
      items_per_iteration st);
  reg ~pool:Heap_pool "ds/hashtbl_add_100k/ocamlnet" (fun st ->
      let t = (Netmcore_hashtbl.create (heap_pool ()) () : (int, int, unit) Netmcore_hashtbl.t) in
      Fun.protect
        ~finally:(fun () -> Netmcore_heap.destroy (Netmcore_hashtbl.heap t))
        (fun () ->
          let key = ref 0 in
          Gb.measure st (fun n ->
              for _ = 1 to n do
                if !key = keys then begin
                  Gb.pause st;
                  Netmcore_hashtbl.clear t;
                  key := 0;
                  Gb.resume st
                end;
                Netmcore_hashtbl.add t !key !key;
                incr key
              done));
      items_per_iteration st);
  reg ~pool:Heap_pool "ds/hashtbl_find_100k/ocamlnet_ro" (fun st ->
      let t = (Netmcore_hashtbl.create (heap_pool ()) () : (int, int, unit) Netmcore_hashtbl.t) in
      Fun.protect
        ~finally:(fun () -> Netmcore_heap.destroy (Netmcore_hashtbl.heap t))
        (fun () ->
          for k = 0 to keys - 1 do
            Netmcore_hashtbl.add t k k
          done;
          let i = ref 0 in
          Gb.measure st (fun n ->
              for _ = 1 to n do
                let k = scattered !i in
                if Netmcore_hashtbl.find_ro t k <> k then failwith "wrong value";
                incr i
              done));
      items_per_iteration st);
  reg ~pool:Heap_pool "ds/queue_push_pop/ocamlnet" (fun st ->
      let q = (Netmcore_queue.create (heap_pool ()) () : (int, unit) Netmcore_queue.squeue) in
      Fun.protect
        ~finally:(fun () -> Netmcore_heap.destroy (Netmcore_queue.heap q))
        (fun () ->
          Gb.measure st (fun n ->
              for i = 1 to n do
                Netmcore_queue.push i q;
                if Netmcore_queue.pop_c q <> i then failwith "wrong element"
              done));
      items_per_iteration st)

(* ---- Netshm (bench/shmtable/shmtable_bench.c) ----------------------------- *)

let with_table lm f =
  let sd = Netshm.create_unique_shm (`POSIX ("/dev/shm/ocnbench_shmtf_XXXXXXXX", "/ocnbench_shmt_XXXXXXXX")) 0o600 in
  (try Netshm.unlink_shm (Netshm.name_of_shm sd) with _ -> ());
  Fun.protect ~finally:(fun () -> Netshm.close_shm sd) (fun () -> f sd (Netshm.manage lm sd))

let () =
  List.iter
    (fun (impl, lm) ->
      reg ("shmtable/add_100k/" ^ impl) (fun st ->
          with_table lm (fun sd t ->
              let v = Netshm.bigarray [| 1; 2; 3; 4 |] in
              let t = ref t and key = ref 0 in
              Gb.measure st (fun n ->
                  for _ = 1 to n do
                    if !key = keys then begin
                      Gb.pause st;
                      t := Netshm.manage ~init:0 lm sd;
                      key := 0;
                      Gb.resume st
                    end;
                    Netshm.add !t (Int32.of_int !key) v;
                    incr key
                  done));
          items_per_iteration st);
      reg ("shmtable/find_100k/" ^ impl) (fun st ->
          with_table lm (fun _ t ->
              let v = Netshm.bigarray [| 1; 2; 3; 4 |] in
              for k = 0 to keys - 1 do
                Netshm.add t (Int32.of_int k) v
              done;
              let i = ref 0 in
              Gb.measure st (fun n ->
                  for _ = 1 to n do
                    let r = Netshm.find t (Int32.of_int (scattered !i)) in
                    if Bigarray.Array1.dim r <> 4 then failwith "wrong value";
                    incr i
                  done));
          items_per_iteration st))
    [ ("ocamlnet", `Record_locking); ("ocamlnet_nolock", `No_locking) ]

(* ---- main ------------------------------------------------------------------------ *)

let () =
  let opts = Gb.parse_args Sys.argv in
  let keep = Gb.filter_of_string opts.Gb.filter in
  let selected = List.filter (fun b -> keep (Gb.full_name b)) (Gb.benchmarks ()) in
  if opts.Gb.list_only then begin
    List.iter (fun b -> print_endline (Gb.full_name b)) selected;
    exit 0
  end;
  let out, to_stdout =
    match opts.Gb.out with
    | Some f -> (f, false)
    | None -> (Filename.temp_file "ocnbench" ".json", true)
  in
  (try Sys.remove out with Sys_error _ -> ());
  if selected = [] then begin
    let oc = open_out out in
    output_string oc (Gb.document []);
    close_out oc
  end
  else begin
    (* pools first: the workers inherit them *)
    List.iter
      (fun b ->
        match Hashtbl.find kinds b.Gb.name with
        | No_pool -> ()
        | Fresh_16MiB ->
            Hashtbl.replace pools b.Gb.name
              (Netmcore_mempool.create_mempool ~alloc_really:true (16 lsl 20))
        | Heap_pool ->
            if not (Hashtbl.mem pools "*heap*") then
              Hashtbl.replace pools "*heap*" (Netmcore_mempool.create_mempool heap_pool_bytes))
      selected;
    (* [out] always holds a whole document (written aside, then renamed);
       [unfinished] exists until the last benchmark is done *)
    let unfinished = out ^ ".unfinished" in
    let write json =
      let tmp = out ^ ".part" in
      let oc = open_out tmp in
      output_string oc json;
      close_out oc;
      Sys.rename tmp out
    in
    let fork_point, _join =
      Netmcore_process.def_process (fun () ->
          close_out (open_out unfinished);
          write (Gb.run_all ~progress:write opts selected);
          Sys.remove unfinished)
    in
    let sockdir = Filename.concat (Filename.get_temp_dir_name ())
        (Printf.sprintf "ocnbench_sock_%d" (Unix.getpid ())) in
    (try Unix.mkdir sockdir 0o700 with Unix.Unix_error (Unix.EEXIST, _, _) -> ());
    Netmcore.startup ~socket_directory:sockdir
      ~first_process:(fun () -> Netmcore_process.start fork_point ()) ();
    (try Netmcore.destroy_resources () with _ -> ());
    ignore (Sys.command ("rm -rf " ^ Filename.quote sockdir))
  end;
  if not (Sys.file_exists out) then begin
    prerr_endline "ocamlnet_bench: the benchmark process wrote no results";
    exit 1
  end;
  let complete = not (Sys.file_exists (out ^ ".unfinished")) in
  if not complete then begin
    Sys.remove (out ^ ".unfinished");
    prerr_endline "ocamlnet_bench: the benchmark process died; the figures before it are kept"
  end;
  if to_stdout then begin
    let ic = open_in_bin out in
    print_string (really_input_string ic (in_channel_length ic));
    close_in ic;
    Sys.remove out
  end;
  if not complete then exit 1
