#!/usr/bin/env bash
# Walk the outpatient flow by hand against `hsa-cert platform serve` (bash + curl + python).
# Start the platform first, in another terminal:   hsa-cert platform serve --db walk.sqlite
# The identities come from `hsa-cert platform personas --json` (seed 20240101).
set -euo pipefail
URL=${URL:-http://127.0.0.1:8080/fsi/api/rsfComIfsService/callService}
FIX=H52010200001; FIXNAME='贵阳市南明区第一人民医院（测试）'; AREA=520102; SIGN=; N=0; NOW=$(date '+%Y-%m-%d %H:%M:%S')
call() {  # call INFNO INSUPLC_ADMDVS 'INPUT-JSON'
  N=$((N + 1))
  LAST=$(curl -s "$URL" -H 'Content-Type: application/json;charset=utf-8' --data-binary @- <<JSON
{"infno": "$1", "msgid": "$FIX$(date +%Y%m%d%H%M%S)$(printf %04d $N)", "mdtrtarea_admvs": "$AREA",
 "insuplc_admdvs": "$2", "recer_sys_code": "MBS_LOCAL", "infver": "V1.0", "opter_type": "1", "opter": "0001",
 "opter_name": "测试", "inf_time": "$(date '+%Y-%m-%d %H:%M:%S')", "fixmedins_code": "$FIX",
 "fixmedins_name": "$FIXNAME", "sign_no": "$SIGN", "input": $3}
JSON
); echo "$1 -> $LAST"; echo; }
# pick PATH: a value of the last answer, or nothing (with the platform's refusal shown) when it was refused.
pick() { echo "$LAST" | python -c "
import json, sys
a = json.load(sys.stdin)
if a.get('infcode') != 0:
    sys.stderr.write('refused (infcode %s): %s\\n' % (a.get('infcode'), a.get('err_msg')))
    sys.exit(0)
print(eval('a' + sys.argv[1]))" "$1"; }
persona() { hsa-cert platform personas --json | python -c "import json,sys; p=[x for x in json.load(sys.stdin)['personas'] if x['archetype']==sys.argv[1]][0]; print(p[sys.argv[2]])" "$1" "$2"; }

ARCH=${ARCH:-filed-employee}
PSN=$(persona "$ARCH" psn_no); CERT=$(persona "$ARCH" certno); NAME=$(persona "$ARCH" psn_name)
INSUPLC=$(persona "$ARCH" insuplc_admdvs); INSUTYPE=$(persona "$ARCH" insutype); PSNTYPE=$(persona "$ARCH" psn_type)
ID='"psn_cert_type": "01", "certno": "'$CERT'", "psn_type": "'$PSNTYPE'", "psn_name": "'$NAME'"'

call 9001 "" '{"signIn": {"opter_no": "0001", "mac": "00-16-3E-00-00-01", "ip": "127.0.0.1"}}'      # 1 sign in
SIGN=$(pick "['output']['signinoutb']['sign_no']")
call 1101 "$INSUPLC" '{"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "'$CERT'", "psn_cert_type": "01",
  "certno": "'$CERT'", "psn_name": "'$NAME'"}}'                                                     # 2 person
call 2201 "$INSUPLC" '{"data": {"psn_no": "'$PSN'", "insutype": "'$INSUTYPE'", "begntime": "'"$NOW"'", "mdtrt_cert_type": "02",
  "mdtrt_cert_no": "'$CERT'", '"$ID"', "ipt_otp_no": "MZ'$(date +%H%M%S)'", "atddr_no": "D001", "dr_name": "张医生",
  "dept_code": "K01", "dept_name": "内科", "caty": "A03"}}'                                          # 3 register
MDTRT=$(pick "['output']['data']['mdtrt_id']")
call 2203 "$INSUPLC" '{"mdtrtinfo": {"mdtrt_id": "'$MDTRT'", "psn_no": "'$PSN'", "med_type": "11", "begntime": "'"$NOW"'",
  "dise_codg": "J06.900", "dise_name": "急性上呼吸道感染"}, "diseinfo": [{"diag_type": "1", "diag_srt_no": 1,
  "diag_code": "J06.900", "diag_name": "急性上呼吸道感染", "diag_dept": "内科", "dise_dor_no": "D001",
  "dise_dor_name": "张医生", "diag_time": "'"$NOW"'", "vali_flag": "1"}]}'                             # 4 visit
FEE='"mdtrt_id": "'$MDTRT'", "psn_no": "'$PSN'", "chrg_bchno": "B1", "rx_circ_flag": "0", "fee_ocur_time": "'"$NOW"'",
  "bilg_dept_codg": "K01", "bilg_dept_name": "内科", "bilg_dr_codg": "D001", "bilg_dr_name": "张医生", "hosp_appr_flag": "1"'
call 2204 "$INSUPLC" '{"feedetail": [
  {"feedetl_sn": "1", '"$FEE"', "med_list_codg": "001102000010000", "medins_list_codg": "XM0008",
   "det_item_fee_sumamt": 25.00, "cnt": 1, "pric": 25.00},
  {"feedetl_sn": "2", '"$FEE"', "med_list_codg": "XJ01DCK050E001010100004", "medins_list_codg": "YP0004",
   "det_item_fee_sumamt": 45.00, "cnt": 1, "pric": 45.00}]}'                                        # 5 fees, classified
SETTLE='"psn_no": "'$PSN'", "mdtrt_cert_type": "02", "mdtrt_cert_no": "'$CERT'", '"$ID"', "med_type": "11",
  "medfee_sumamt": 70.00, "psn_setlway": "01", "mdtrt_id": "'$MDTRT'", "chrg_bchno": "B1", "acct_used_flag": "1",
  "insutype": "'$INSUTYPE'"'
call 2206 "$INSUPLC" '{"data": {'"$SETTLE"'}}'                                                      # 6 pre-settle: no setl_id
call 2207 "$INSUPLC" '{"data": {'"$SETTLE"', "invono": "", "fulamt_ownpay_amt": 0, "overlmt_selfpay": 0,
  "preselfpay_amt": 4.50, "inscp_scp_amt": 65.50}}'                                                 # 7 settle
SETL=$(pick "['output']['setlinfo']['setl_id']")
if [ -z "$SETL" ]; then
  echo "The settlement was refused, as it should be for $ARCH: nothing to reverse (2208 skipped)."
  exit 0
fi
call 2208 "$INSUPLC" '{"data": {"setl_id": "'$SETL'", "mdtrt_id": "'$MDTRT'", "psn_no": "'$PSN'"}}' # 8 reverse: negative amounts
