"""MCRAGE dashboard: ``streamlit run dashboard/app.py``. The router, nothing else."""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # run from anywhere, with or without `pip install -e .`
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from dashboard import auth, state  # noqa: E402
from dashboard.nav import sidebar  # noqa: E402

st.set_page_config(page_title="MCRAGE: fairness audit of EHR tables", page_icon="⚖️", layout="wide")
state.init(user=auth.require_sign_in())
if state.TEST_PRESETS_FLAG in sys.argv[1:]:  # streamlit run dashboard/app.py -- --test-presets
    st.session_state[state.TEST_PRESETS] = True

pages = [
    st.Page("app_pages/data.py", title="1 · Data", icon=":material/upload_file:", default=True),
    st.Page("app_pages/imbalance.py", title="2 · Imbalance", icon=":material/bar_chart:"),
    st.Page("app_pages/train.py", title="3 · Train", icon=":material/model_training:"),
    st.Page("app_pages/compare.py", title="4 · Compare", icon=":material/compare:"),
    st.Page("app_pages/results.py", title="5 · Results", icon=":material/balance:"),
    st.Page("app_pages/report.py", title="6 · Report", icon=":material/download:"),
    st.Page("app_pages/compare_runs.py", title="7 · Compare runs", icon=":material/difference:"),
]
navigation = st.navigation(pages)
sidebar()
navigation.run()
