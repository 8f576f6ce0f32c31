"""The Streamlit app: `streamlit run app.py` (or `python start.py`)."""

from novelchat.ui.app import main

main()
