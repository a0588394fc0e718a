(* bench/peers/ocamlnet/gb.ml - a small Google Benchmark look-alike for the
   OCamlnet peer programs: the same iteration-count search, repetitions,
   counters and JSON output (context + benchmarks), so that
   reports/merge_results.py and reports/make_report.py take the rows as
   they take those of the C benchmarks.

   A benchmark body receives a [state]; it does its (untimed) set-up, then
   calls [measure st (fun n -> ... n iterations ...)] once, then reports
   counters. Single-process benchmarks are timed on CPU time like Google
   Benchmark's default (rates divide by CPU seconds); [~manual_time]
   benchmarks set each iteration's time with [add_manual_time] (the
   multi-process runs: barrier release to last finish). *)

let now_mono () =
  let s, ns = Netsys_posix.clock_gettime Netsys_posix.CLOCK_MONOTONIC in
  s +. (float_of_int ns *. 1e-9)

let cpu_clock =
  try
    let id = Netsys_posix.clock_getcpuclockid 0 in
    ignore (Netsys_posix.clock_gettime (Netsys_posix.CLOCK_ID id));
    Some (Netsys_posix.CLOCK_ID id)
  with _ -> None

let now_cpu () =
  match cpu_clock with
  | Some c ->
      let s, ns = Netsys_posix.clock_gettime c in
      s +. (float_of_int ns *. 1e-9)
  | None -> Sys.time ()

(* ---- counters ------------------------------------------------------------ *)

type counter_kind =
  | Plain         (* the value as is *)
  | Rate          (* value / seconds *)
  | Rate_invert   (* seconds / value: e.g. ns per block from blocks / 1e9 *)

type state = {
  iters : int;                         (* iterations of this run *)
  mutable real : float;                (* seconds measured *)
  mutable cpu : float;
  mutable manual : float;
  mutable paused_real : float;         (* pause start, or nan *)
  mutable paused_cpu : float;
  mutable counters : (string * counter_kind * float) list;
  mutable items : float option;
  mutable bytes : float option;
  mutable error : string option;
}

let iterations st = st.iters

let skip_with_error st msg = if st.error = None then st.error <- Some msg

let set_items_processed st n = st.items <- Some n

let set_bytes_processed st n = st.bytes <- Some n

let counter st name kind v =
  st.counters <- (name, kind, v) :: List.filter (fun (n, _, _) -> n <> name) st.counters

let add_manual_time st s = st.manual <- st.manual +. s

(* Runs [loop st.iters] between the timer's start and stop. *)
let measure st loop =
  let r0 = now_mono () and c0 = now_cpu () in
  loop st.iters;
  let c1 = now_cpu () and r1 = now_mono () in
  st.real <- st.real +. (r1 -. r0);
  st.cpu <- st.cpu +. (c1 -. c0)

(* Excludes the time between [pause] and [resume] (inside [measure]). *)
let pause st =
  st.paused_real <- now_mono ();
  st.paused_cpu <- now_cpu ()

let resume st =
  let c = now_cpu () and r = now_mono () in
  st.real <- st.real -. (r -. st.paused_real);
  st.cpu <- st.cpu -. (c -. st.paused_cpu)

(* ---- registry ------------------------------------------------------------ *)

type bench = {
  name : string;                 (* AREA/WORKLOAD/IMPL[/ARG] *)
  manual_time : bool;
  repetitions : int option;      (* fixed, whatever --repetitions says *)
  body : state -> unit;
}

let registry : bench list ref = ref []

let register ?(manual_time = false) ?repetitions name body =
  registry := { name; manual_time; repetitions; body } :: !registry

let benchmarks () = List.rev !registry

(* Google Benchmark's full name: ".../repeats:N" and "/manual_time". *)
let full_name b =
  b.name
  ^ (match b.repetitions with Some n -> Printf.sprintf "/repeats:%d" n | None -> "")
  ^ if b.manual_time then "/manual_time" else ""

(* ---- filter: Google Benchmark's (ECMAScript) regex to Str ---------------- *)

let str_of_ecma re =
  let b = Buffer.create (String.length re * 2) in
  let n = String.length re in
  let i = ref 0 in
  while !i < n do
    (match re.[!i] with
     | '\\' when !i + 1 < n ->
         incr i;
         (match re.[!i] with
          | ('|' | '(' | ')' | '{' | '}') as c -> Buffer.add_char b c
          | 'd' -> Buffer.add_string b "[0-9]"
          | 'w' -> Buffer.add_string b "[A-Za-z0-9_]"
          | c -> Buffer.add_char b '\\'; Buffer.add_char b c)
     | '|' -> Buffer.add_string b "\\|"
     | '(' -> Buffer.add_string b "\\("
     | ')' -> Buffer.add_string b "\\)"
     | c -> Buffer.add_char b c);
    incr i
  done;
  Buffer.contents b

(* A predicate on full names; a leading '-' negates, as in Google Benchmark. *)
let filter_of_string f =
  let neg, f =
    if String.length f > 0 && f.[0] = '-' then (true, String.sub f 1 (String.length f - 1))
    else (false, f)
  in
  if f = "" || f = "." || f = "all" then fun _ -> not neg
  else
    let re = Str.regexp (str_of_ecma f) in
    fun name ->
      let m = try ignore (Str.search_forward re name 0); true with Not_found -> false in
      m <> neg

(* ---- running --------------------------------------------------------------- *)

let max_iterations = 1_000_000_000

type run = {
  r_iters : int;
  r_real : float;        (* seconds, whole run (manual time if manual) *)
  r_cpu : float;
  r_fields : (string * float) list;   (* rates and counters *)
  r_error : string option;
}

let fresh iters =
  { iters; real = 0.; cpu = 0.; manual = 0.; paused_real = nan; paused_cpu = nan;
    counters = []; items = None; bytes = None; error = None }

let one_run b iters =
  let st = fresh iters in
  (try b.body st with e -> skip_with_error st ("exception: " ^ Printexc.to_string e));
  let real = if b.manual_time then st.manual else st.real in
  (* the seconds rates divide by: manual time, else CPU time *)
  let secs = if b.manual_time then st.manual else st.cpu in
  let rate v = if secs > 0. then v /. secs else 0. in
  let fields =
    (match st.bytes with Some v -> [ ("bytes_per_second", rate v) ] | None -> [])
    @ (match st.items with Some v -> [ ("items_per_second", rate v) ] | None -> [])
    @ List.rev_map
        (fun (n, k, v) ->
          ( n,
            match k with
            | Plain -> v
            | Rate -> rate v
            | Rate_invert -> if v > 0. then secs /. v else 0. ))
        st.counters
  in
  { r_iters = iters; r_real = real; r_cpu = st.cpu; r_fields = fields; r_error = st.error }

(* Google Benchmark's search: grow the iteration count until the run took
   at least min_time (CPU time, or manual time). *)
let find_iterations b min_time =
  let rec go iters =
    let r = one_run b iters in
    let secs = if b.manual_time then r.r_real else r.r_cpu in
    if r.r_error <> None || iters >= max_iterations || secs >= min_time
       || ((not b.manual_time) && r.r_real >= 5. *. min_time)
    then r
    else begin
      let mult = min_time *. 1.4 /. Float.max secs 1e-9 in
      let mult = if secs /. min_time > 0.1 then mult else Float.min mult 10. in
      let mult = if mult <= 1. then 2. else mult in
      let next = int_of_float (Float.round (mult *. float_of_int iters)) in
      go (min max_iterations (max next (iters + 1)))
    end
  in
  go 1

(* ---- JSON -------------------------------------------------------------------- *)

let json_string s =
  let b = Buffer.create (String.length s + 2) in
  Buffer.add_char b '"';
  String.iter
    (fun c ->
      match c with
      | '"' -> Buffer.add_string b "\\\""
      | '\\' -> Buffer.add_string b "\\\\"
      | '\n' -> Buffer.add_string b "\\n"
      | c when Char.code c < 0x20 -> Buffer.add_string b (Printf.sprintf "\\u%04x" (Char.code c))
      | c -> Buffer.add_char b c)
    s;
  Buffer.add_char b '"';
  Buffer.contents b

let json_float v =
  if Float.is_integer v && Float.abs v < 1e15 then Printf.sprintf "%.1f" v
  else if Float.is_finite v then Printf.sprintf "%.17g" v
  else "0.0"

type jv = S of string | I of int | F of float | B of bool

let json_obj fields =
  "    {\n"
  ^ String.concat ",\n"
      (List.map
         (fun (k, v) ->
           Printf.sprintf "      %s: %s" (json_string k)
             (match v with
              | S s -> json_string s
              | I i -> string_of_int i
              | F f -> json_float f
              | B b -> string_of_bool b))
         fields)
  ^ "\n    }"

let iteration_row b name reps idx (r : run) =
  match r.r_error with
  | Some msg ->
      [ ("name", S name); ("run_name", S name); ("run_type", S "iteration");
        ("repetitions", I reps); ("repetition_index", I idx); ("threads", I 1);
        ("error_occurred", B true); ("error_message", S msg) ]
  | None ->
      let per = 1e9 /. float_of_int (max 1 r.r_iters) in
      ignore b;
      [ ("name", S name); ("run_name", S name); ("run_type", S "iteration");
        ("repetitions", I reps); ("repetition_index", I idx); ("threads", I 1);
        ("iterations", I r.r_iters); ("real_time", F (r.r_real *. per));
        ("cpu_time", F (r.r_cpu *. per)); ("time_unit", S "ns") ]
      @ List.map (fun (k, v) -> (k, F v)) r.r_fields

let median xs =
  let a = Array.of_list xs in
  Array.sort compare a;
  let n = Array.length a in
  if n = 0 then 0. else if n mod 2 = 1 then a.(n / 2) else (a.((n / 2) - 1) +. a.(n / 2)) /. 2.

let mean xs = List.fold_left ( +. ) 0. xs /. float_of_int (max 1 (List.length xs))

let stddev xs =
  let n = List.length xs in
  if n < 2 then 0.
  else
    let m = mean xs in
    sqrt (List.fold_left (fun a x -> a +. ((x -. m) ** 2.)) 0. xs /. float_of_int (n - 1))

(* mean, median and stddev rows over successful repetitions *)
let aggregate_rows name reps (runs : run list) =
  let ok = List.filter (fun r -> r.r_error = None) runs in
  if ok = [] then []
  else
    let per r = 1e9 /. float_of_int (max 1 r.r_iters) in
    let keys = List.map fst (List.hd ok).r_fields in
    List.map
      (fun (agg, f) ->
        [ ("name", S (name ^ "_" ^ agg)); ("run_name", S name); ("run_type", S "aggregate");
          ("repetitions", I reps); ("threads", I 1); ("aggregate_name", S agg);
          ("aggregate_unit", S "time"); ("iterations", I (List.length ok));
          ("real_time", F (f (List.map (fun r -> r.r_real *. per r) ok)));
          ("cpu_time", F (f (List.map (fun r -> r.r_cpu *. per r) ok))); ("time_unit", S "ns") ]
        @ List.map
            (fun k ->
              (k, F (f (List.map (fun r -> try List.assoc k r.r_fields with Not_found -> 0.) ok))))
            keys)
      [ ("mean", mean); ("median", median); ("stddev", stddev) ]

type options = {
  filter : string;
  min_time : float;
  reps : int;
  aggregates_only : bool;
  out : string option;
  list_only : bool;
}

let context () =
  let host = try Unix.gethostname () with _ -> "unknown" in
  let tm = Unix.localtime (Unix.time ()) in
  [ ("date",
     S (Printf.sprintf "%04d-%02d-%02dT%02d:%02d:%02d" (tm.Unix.tm_year + 1900)
          (tm.Unix.tm_mon + 1) tm.Unix.tm_mday tm.Unix.tm_hour tm.Unix.tm_min tm.Unix.tm_sec));
    ("host_name", S host); ("executable", S Sys.executable_name);
    ("library_build_type", S "release"); ("ocaml_version", S Sys.ocaml_version);
    ("peer", S "OCamlnet 4.1.9 (ocamlfind ocamlopt)") ]

(* The JSON document of the rows so far (newest first). *)
let document rows =
  let ctx = context () in
  "{\n  \"context\": {\n"
  ^ String.concat ",\n"
      (List.map
         (fun (k, v) ->
           Printf.sprintf "    %s: %s" (json_string k)
             (match v with S s -> json_string s | I i -> string_of_int i | F f -> json_float f
                         | B b -> string_of_bool b))
         ctx)
  ^ "\n  },\n  \"benchmarks\": [\n"
  ^ String.concat ",\n" (List.rev_map json_obj rows)
  ^ "\n  ]\n}\n"

(* Runs every selected benchmark; returns the JSON document. Progress goes
   to stderr; after each benchmark [progress] gets the document so far (a
   crash keeps the figures already measured). Each benchmark starts from a
   fully collected OCaml heap: garbage of the previous one (a 1 MiB string,
   copies) is not collected while the next one is timed. *)
let run_all ?(progress = fun _ -> ()) opts (selected : bench list) =
  let rows = ref [] in
  let total = List.length selected in
  List.iteri
    (fun i b ->
      let name = full_name b in
      Gc.full_major ();
      Printf.eprintf "ocamlnet: [%d/%d] %s\n%!" (i + 1) total name;
      let reps = match b.repetitions with Some n -> n | None -> opts.reps in
      let first = find_iterations b opts.min_time in
      let runs =
        if first.r_error <> None then [ first ]
        else first :: List.init (reps - 1) (fun _ -> one_run b first.r_iters)
      in
      let its = List.mapi (fun idx r -> iteration_row b name reps idx r) runs in
      let aggs = if reps > 1 then aggregate_rows name reps runs else [] in
      let errors = List.filter (fun r -> r.r_error <> None) runs in
      let these =
        if opts.aggregates_only && reps > 1 && errors = [] then aggs else its @ aggs
      in
      rows := List.rev_append these !rows;
      progress (document !rows))
    selected;
  document !rows

let usage =
  "usage: ocamlnet_bench [--filter REGEX] [--min-time S] [--repetitions N]\n\
  \                      [--aggregates-only] [--out FILE] [--list]\n\
   Google Benchmark-style flags are accepted too (--benchmark_filter=...)."

let parse_args argv =
  let o = ref { filter = "."; min_time = 0.5; reps = 3; aggregates_only = false; out = None;
                list_only = false } in
  let args = Array.to_list argv |> List.tl in
  let split a =
    match String.index_opt a '=' with
    | Some i -> (String.sub a 0 i, Some (String.sub a (i + 1) (String.length a - i - 1)))
    | None -> (a, None)
  in
  let rec go = function
    | [] -> ()
    | a :: rest ->
        let key, inline = split a in
        let value rest =
          match inline, rest with
          | Some v, rest -> (v, rest)
          | None, v :: rest -> (v, rest)
          | None, [] -> prerr_endline usage; exit 2
        in
        (match key with
         | "--filter" | "--benchmark_filter" ->
             let v, rest = value rest in o := { !o with filter = v }; go rest
         | "--min-time" | "--benchmark_min_time" ->
             let v, rest = value rest in
             let v = if String.length v > 1 && v.[String.length v - 1] = 's'
               then String.sub v 0 (String.length v - 1) else v in
             o := { !o with min_time = float_of_string v }; go rest
         | "--repetitions" | "--benchmark_repetitions" ->
             let v, rest = value rest in o := { !o with reps = max 1 (int_of_string v) }; go rest
         | "--aggregates-only" -> o := { !o with aggregates_only = true }; go rest
         | "--benchmark_report_aggregates_only" ->
             let v = match inline with Some v -> v | None -> "true" in
             o := { !o with aggregates_only = v = "true" }; go rest
         | "--out" | "--benchmark_out" ->
             let v, rest = value rest in o := { !o with out = Some v }; go rest
         | "--benchmark_out_format" -> go (match inline with Some _ -> rest | None -> List.tl rest)
         | "--list" | "--benchmark_list_tests" -> o := { !o with list_only = true }; go rest
         | "-h" | "--help" -> print_endline usage; exit 0
         | _ -> Printf.eprintf "ocamlnet_bench: unknown argument %s\n%s\n" a usage; exit 2)
  in
  go args;
  !o
