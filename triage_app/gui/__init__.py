"""The desktop window (PySide6 + pyqtgraph). It only adapts the Qt-free core: signals in, method calls out."""
